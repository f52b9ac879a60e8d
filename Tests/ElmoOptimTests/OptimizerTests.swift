import ElmoOptim
import ElmoTensor
import XCTest

/// Elementwise |a − b| ≤ atol + rtol·|b|, with the label and both arrays on failure.
func assertClose(_ a: [Float], _ b: [Float], rtol: Float = 1e-5, atol: Float = 1e-6, _ label: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(label): sizes differ", file: file, line: line)
    let ok = zip(a, b).allSatisfy { abs($0 - $1) <= atol + rtol * abs($1) }
    XCTAssertTrue(ok, "\(label): got \(a), expected \(b)", file: file, line: line)
}

/// The two-step fixture shared by the optimizer tests: p₀ = [1, −2, 0.5], g₁ = [0.5, −1, 2], g₂ = [1, 0.5, −0.5].
enum Fixture {
    static let initial: [Float] = [1, -2, 0.5]
    static let gradients: [[Float]] = [[0.5, -1, 2], [1, 0.5, -0.5]]

    static func parameter() -> Parameter { Parameter(name: "layer/weight", value: Tensor(shape: [3], scalars: initial)) }

    /// Runs `optimizer` for the fixture's two steps and returns p after each.
    static func run(_ optimizer: Optimizer, scale: Float = 1) -> [[Float]] {
        let p = parameter()
        return gradients.map { g in
            p.gradient = Tensor(shape: [3], scalars: g)
            optimizer.step([p], learningRateScale: scale)
            return p.value.scalars
        }
    }
}

final class OptimizerTests: XCTestCase {
    func testSGDPlain() {
        // p₁ = p₀ − 0.1·g₁ = [0.95, −1.9, 0.3];  p₂ = p₁ − 0.1·g₂ = [0.85, −1.95, 0.35]
        let steps = Fixture.run(SGD(learningRate: 0.1))
        assertClose(steps[0], [0.95, -1.9, 0.3], "sgd step 1")
        assertClose(steps[1], [0.85, -1.95, 0.35], "sgd step 2")
    }

    func testSGDMomentum() {
        // b₁ = g₁ = [0.5, −1, 2];                p₁ = p₀ − 0.1·b₁ = [0.95, −1.9, 0.3]
        // b₂ = 0.9·b₁ + g₂ = [1.45, −0.4, 1.3];  p₂ = p₁ − 0.1·b₂ = [0.805, −1.86, 0.17]
        let steps = Fixture.run(SGD(learningRate: 0.1, momentum: 0.9))
        assertClose(steps[0], [0.95, -1.9, 0.3], "momentum step 1")
        assertClose(steps[1], [0.805, -1.86, 0.17], "momentum step 2")
    }

    func testSGDNesterov() {
        // b₁ = g₁; d₁ = g₁ + 0.9·b₁ = [0.95, −1.9, 3.8];  p₁ = p₀ − 0.1·d₁ = [0.905, −1.81, 0.12]
        // b₂ = [1.45, −0.4, 1.3]; d₂ = g₂ + 0.9·b₂ = [2.305, 0.14, 0.67];  p₂ = p₁ − 0.1·d₂ = [0.6745, −1.824, 0.053]
        let steps = Fixture.run(SGD(learningRate: 0.1, momentum: 0.9, nesterov: true))
        assertClose(steps[0], [0.905, -1.81, 0.12], "nesterov step 1")
        assertClose(steps[1], [0.6745, -1.824, 0.053], "nesterov step 2")
    }

    func testSGDWeightDecay() {
        // g = ∇ + 0.1·p: [0.6, −1.2, 2.05] → p₁ = [0.94, −1.88, 0.295]
        // g = g₂ + 0.1·p₁ = [1.094, 0.312, −0.4705] → p₂ = [0.8306, −1.9112, 0.34205]
        let steps = Fixture.run(SGD(learningRate: 0.1, weightDecay: 0.1))
        assertClose(steps[0], [0.94, -1.88, 0.295], "sgd decay step 1")
        assertClose(steps[1], [0.8306, -1.9112, 0.34205], "sgd decay step 2")
    }

    func testAdagradStartsFromInitialAccumulator() {
        // a₁ = 1 + g₁² = [1.25, 2, 5];  p₁ = p₀ − 0.2·g₁/√a₁
        //    = [1 − 0.1/1.118034, −2 + 0.2/1.414214, 0.5 − 0.4/2.236068] = [0.9105573, −1.8585786, 0.3211146]
        // a₂ = a₁ + g₂² = [2.25, 2.25, 5.25];  p₂ = p₁ − 0.2·g₂/√a₂
        //    = [p − 0.2/1.5, p − 0.1/1.5, p + 0.1/2.291288] = [0.7772240, −1.9252453, 0.3647581]
        let steps = Fixture.run(Adagrad(learningRate: 0.2, initialAccumulatorValue: 1.0))
        assertClose(steps[0], [0.9105573, -1.8585786, 0.3211146], "adagrad step 1")
        assertClose(steps[1], [0.7772240, -1.9252453, 0.3647581], "adagrad step 2")
        let state = Adagrad()
        _ = Fixture.run(state)
        assertClose(state.stateTensors()["adagrad_accumulator/layer/weight"]!.scalars, [2.25, 2.25, 5.25], "accumulator")
    }

    func testAdamBiasCorrection() {
        // lr 0.1. t=1: m = 0.1·g₁, v = 0.001·g₁²; m̂ = m/0.1 = g₁, v̂ = v/0.001 = g₁², so p₁ = p₀ − 0.1·sign(g₁)
        //    = [0.9, −1.9, 0.4] (without bias correction the step would be 0.1·0.1/√0.001 ≈ 0.32 instead).
        // t=2: m = 0.9·m + 0.1·g₂ = [0.145, −0.04, 0.13];  v = 0.999·v + 0.001·g₂² = [0.00124975, 0.001249, 0.004246]
        //    m̂ = m/(1−0.81) = [0.763158, −0.210526, 0.684211];  √v̂ = √(v/(1−0.998001)) = [0.790688, 0.790451, 1.457416]
        //    p₂ = p₁ − 0.1·m̂/√v̂ = [0.9 − 0.0965182, −1.9 + 0.0266337, 0.4 − 0.0469468] = [0.8034818, −1.8733663, 0.3530532]
        let steps = Fixture.run(Adam(learningRate: 0.1))
        assertClose(steps[0], [0.9, -1.9, 0.4], "adam step 1")
        assertClose(steps[1], [0.8034818, -1.8733663, 0.3530532], "adam step 2")
    }

    func testAdamL2DecayDiffersFromAdamWDecoupledDecay() {
        // Adam, L2 0.1: g = ∇ + 0.1·p, so g₁ = [0.6, −1.2, 2.05] and p₁ = p₀ − 0.1·sign(g₁) = [0.9, −1.9, 0.4];
        //   g₂ = g₂ + 0.1·p₁ = [1.09, 0.31, −0.46], m = [0.163, −0.077, 0.1385], v = [0.00154774, 0.00153466, 0.0044099]
        //   p₂ = p₁ − 0.1·(m/0.19)/√(v/0.001999) = [0.8025030, −1.8537473, 0.3509218]
        let adam = Fixture.run(Adam(learningRate: 0.1, weightDecay: 0.1))
        assertClose(adam[0], [0.9, -1.9, 0.4], "adam L2 step 1")
        assertClose(adam[1], [0.8025030, -1.8537473, 0.3509218], "adam L2 step 2")
        // AdamW 0.1: p *= 1 − 0.1·0.1 before the plain Adam step, whose moments ignore the decay:
        //   p₁ = 0.99·p₀ − 0.1·sign(g₁) = [0.89, −1.88, 0.395];  p₂ = 0.99·p₁ − [0.0965182, −0.0266337, 0.0469468]
        //      = [0.7845818, −1.8345663, 0.3441032]
        let adamW = Fixture.run(Adam(learningRate: 0.1, weightDecay: 0.1, decoupledWeightDecay: true))
        assertClose(adamW[0], [0.89, -1.88, 0.395], "adamw step 1")
        assertClose(adamW[1], [0.7845818, -1.8345663, 0.3441032], "adamw step 2")
    }

    func testLearningRateScaleMultipliesTheRate() {
        // SGD lr 1 at scale 0.1 is SGD lr 0.1: p₂ = [0.85, −1.95, 0.35] as in testSGDPlain.
        assertClose(Fixture.run(SGD(learningRate: 1), scale: 0.1)[1], [0.85, -1.95, 0.35], "sgd scaled")
        // Adam's and AdamW's step (and AdamW's decay) use lr·scale; Adagrad's too.
        let pairs: [(Optimizer, Optimizer)] = [
            (Adam(learningRate: 0.4, weightDecay: 0.1, decoupledWeightDecay: true),
             Adam(learningRate: 0.1, weightDecay: 0.1, decoupledWeightDecay: true)),
            (Adagrad(learningRate: 0.8), Adagrad(learningRate: 0.2)),
        ]
        for (scaled, reference) in pairs {
            assertClose(Fixture.run(scaled, scale: 0.25)[1], Fixture.run(reference)[1], "\(scaled.name) scaled")
        }
    }

    func testStateRoundTripContinuesIdentically() throws {
        let makers: [() -> Optimizer] = [
            { SGD(learningRate: 0.1, momentum: 0.9, nesterov: true) },
            { Adagrad() },
            { Adam(learningRate: 0.01) },
            { Adam(learningRate: 0.01, weightDecay: 0.1, decoupledWeightDecay: true) },
        ]
        let third = Tensor(shape: [3], scalars: [-0.3, 0.7, 0.2])
        for make in makers {
            let original = make()
            let p = Fixture.parameter()
            for g in Fixture.gradients {
                p.gradient = Tensor(shape: [3], scalars: g)
                original.step([p])
            }
            let restored = make()
            try restored.loadState(tensors: original.stateTensors(), scalars: original.scalarState, parameters: [p])
            XCTAssertEqual(restored.stateTensors(), original.stateTensors(), original.name)
            XCTAssertEqual(restored.scalarState, original.scalarState, original.name)
            XCTAssertFalse(original.stateTensors().isEmpty, "\(original.name) has state to save")

            let copy = Parameter(name: p.name, value: p.value)
            p.gradient = third
            copy.gradient = third
            original.step([p])
            restored.step([copy])
            XCTAssertEqual(copy.value.scalars, p.value.scalars, "\(original.name) after restore")
            let fresh = make()
            let reset = Parameter(name: p.name, value: copy.value)
            reset.gradient = third
            fresh.step([reset])
            XCTAssertNotEqual(reset.value.scalars, p.value.scalars, "\(original.name): state must matter for this check")
        }
    }

    func testAdamStateKeysAndErrors() {
        let adam = Adam()
        _ = Fixture.run(adam)
        let tensors = adam.stateTensors()
        XCTAssertEqual(Set(tensors.keys), ["adam_exp_avg/layer/weight", "adam_exp_avg_sq/layer/weight"])
        XCTAssertEqual(adam.scalarState, ["adam_step/layer/weight": 2])

        var missing = tensors
        missing["adam_exp_avg_sq/layer/weight"] = nil
        XCTAssertThrowsError(try Adam().loadState(tensors: missing, scalars: adam.scalarState)) { error in
            XCTAssertEqual(error as? OptimizerError, .missingSlot(key: "adam_exp_avg_sq/layer/weight"))
            XCTAssertTrue("\(error)".contains("adam_exp_avg_sq/layer/weight"))
        }
        XCTAssertThrowsError(try Adam().loadState(tensors: tensors, scalars: [:])) { error in
            XCTAssertEqual(error as? OptimizerError, .missingSlot(key: "adam_step/layer/weight"))
        }
        var misShaped = tensors
        misShaped["adam_exp_avg_sq/layer/weight"] = Tensor(zeros: [4])
        XCTAssertThrowsError(try Adam().loadState(tensors: misShaped, scalars: adam.scalarState)) { error in
            XCTAssertEqual(error as? OptimizerError,
                           .slotShapeMismatch(key: "adam_exp_avg_sq/layer/weight", expected: [3], found: [4]))
        }
        let other = Parameter(name: "layer/weight", value: Tensor(zeros: [2, 2]))
        XCTAssertThrowsError(try Adam().loadState(tensors: tensors, scalars: adam.scalarState, parameters: [other])) { error in
            XCTAssertEqual(error as? OptimizerError,
                           .slotShapeMismatch(key: "adam_exp_avg/layer/weight", expected: [2, 2], found: [3]))
        }
        let renamed = Parameter(name: "layer/bias", value: Tensor(zeros: [3]))
        XCTAssertThrowsError(try Adam().loadState(tensors: tensors, scalars: adam.scalarState, parameters: [renamed])) { error in
            XCTAssertEqual(error as? OptimizerError, .unknownParameter(key: "adam_exp_avg/layer/weight"))
        }
        // Keys of other optimizers or of model weights are ignored.
        var mixed = tensors
        mixed["layer/weight"] = Tensor(zeros: [3])
        XCTAssertNoThrow(try Adam().loadState(tensors: mixed, scalars: adam.scalarState))
    }

    func testFactory() throws {
        let expected: [(String, String, Float)] = [("adagrad", "adagrad", 0.2), ("Adam", "adam", 1e-3),
                                                   ("adamw", "adamw", 1e-3), ("sgd", "sgd", 1.0)]
        for (name, canonical, rate) in expected {
            let optimizer = try makeOptimizer(name: name, learningRate: nil)
            XCTAssertEqual(optimizer.name, canonical)
            XCTAssertEqual(optimizer.learningRate, rate, name)
        }
        XCTAssertEqual(try makeOptimizer(name: "sgd", learningRate: 0.5).learningRate, 0.5)
        XCTAssertEqual((try makeOptimizer(name: "adamw", learningRate: nil) as? Adam)?.weightDecay, 0.01)
        XCTAssertThrowsError(try makeOptimizer(name: "rmsprop", learningRate: nil)) { error in
            XCTAssertTrue("\(error)".contains("rmsprop") && "\(error)".contains("adagrad"), "\(error)")
        }
        XCTAssertThrowsError(try makeOptimizer(name: "adam", learningRate: -1))
    }
}
