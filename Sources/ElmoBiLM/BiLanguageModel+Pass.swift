import Dispatch
import ElmoLayers
import ElmoTensor
import ElmoText

/// The biLM's one forward and one backward pass. Every other entry point (`trainStep`, `score`, `layerOutputs`,
/// `layerOutputsWithCache`, …) is a `BiLMPass` handed to these two.
extension BiLanguageModel {
    /// One forward pass as `pass` describes it. The shared token encoder runs once, then the two LSTM stacks
    /// (concurrently, unless `pass.dropoutDraws` is `.sharedStream` with dropout active), then the softmax, if any.
    /// `rng` gives the dropout masks while training and the sampled softmax's negatives, unless `pass.dropoutDraws`
    /// is `.keyed` (then nothing is drawn from it).
    public func forward(_ pass: BiLMPass, rng: inout RandomGenerator) -> BiLMPassResult {
        let p = projectionSize, both = pass.directions == .both
        var tape = BiLMTape()
        tape.directions = pass.directions

        // The token encodings, each direction's input and its starting states.
        let b: Int, t: Int, embedded: Tensor, forwardInput: Tensor, backwardInput: Tensor?, initial: States
        let encoderStart = DispatchTime.now().uptimeNanoseconds
        switch pass.input {
        case let .streams(batch, states):
            (b, t, initial) = (batch.batchSize, batch.steps, states)
            let n = b * t
            tape.layout = .streams(batch: b, steps: t)
            if both {
                // Both directions' tokens through the char CNN in one call (bigger gemms).
                embedded = encoder.forward(batch.forwardCharacters + batch.backwardCharacters, tokenCount: 2 * n, cache: &tape.encoder)
                forwardInput = embedded.rows(0..<n, shape: [b, t, p])
                backwardInput = embedded.rows(n..<(2 * n), shape: [b, t, p])
            } else {
                embedded = encoder.forward(batch.forwardCharacters, tokenCount: n, cache: &tape.encoder)
                forwardInput = embedded.reshaped([b, t, p])
                backwardInput = nil
            }
        case let .sentences(characters, batchSize, steps, lengths):
            precondition(characters.count == batchSize * steps * maxCharacters && lengths.count == batchSize,
                         "BiLanguageModel.forward: \(characters.count) character ids and \(lengths.count) lengths for [\(batchSize), \(steps)] x \(maxCharacters).")
            (b, t, initial) = (batchSize, steps, zeroStates(batch: batchSize))
            tape.layout = .sentences(batch: b, steps: t, lengths: lengths)
            if let cache = pass.tokenEncodings {
                precondition(!pass.training && !pass.keepForBackward, "BiLanguageModel.forward: a token cache is for inference passes only.")
                embedded = cache.encode(characters, tokenCount: b * t).reshaped([b, t, p])
            } else {
                embedded = encoder.forward(characters, tokenCount: b * t, cache: &tape.encoder).reshaped([b, t, p])
            }
            forwardInput = embedded
            backwardInput = both ? embedded.reversingSteps(lengths: lengths) : nil
        }
        let encoderSeconds = Double(DispatchTime.now().uptimeNanoseconds - encoderStart) / 1e9

        // The two stacks; a softmax reads the top layer through the output dropout.
        typealias DirectionResult = (outputs: [Tensor], finals: [LSTMWithProjection.State], top: Tensor?)
        let softmaxRuns = pass.softmax != .none, training = pass.training
        func direction(_ stack: LSTMStack, _ x: Tensor, _ states: [LSTMWithProjection.State], masks: Dropout.MaskSource,
                       rng: inout RandomGenerator, cache: inout LSTMStack.Cache, dropCache: inout Dropout.Cache) -> DirectionResult {
            let (outputs, finals) = stack.forward(x, states: states, training: training, masks: masks, rng: &rng, cache: &cache)
            let top = softmaxRuns
                ? outputDropout.forward(outputs.last!, training: training, source: masks.site(layerCount), rng: &rng, cache: &dropCache)
                : nil
            return (outputs, finals, top)
        }
        var forwardCache = LSTMStack.Cache(), backwardCache = LSTMStack.Cache()
        var forwardDrop = Dropout.Cache(), backwardDrop = Dropout.Cache()
        func runForward(_ rng: inout RandomGenerator, masks: Dropout.MaskSource = .generator) -> DirectionResult {
            direction(forwardStack, forwardInput, initial.forward, masks: masks, rng: &rng, cache: &forwardCache, dropCache: &forwardDrop)
        }
        func runBackward(_ rng: inout RandomGenerator, masks: Dropout.MaskSource = .generator) -> DirectionResult {
            direction(backwardStack, backwardInput!, initial.backward, masks: masks, rng: &rng, cache: &backwardCache,
                      dropCache: &backwardDrop)
        }
        let forwardResult: DirectionResult, backwardResult: DirectionResult?
        switch pass.dropoutDraws {
        case .perDirection:
            var forwardRng = RandomGenerator(seed: rng.next())
            if both {
                var backwardRng = RandomGenerator(seed: rng.next())
                (forwardResult, backwardResult) = Parallel.both({ runForward(&forwardRng) }, { runBackward(&backwardRng) })
            } else {
                (forwardResult, backwardResult) = (runForward(&forwardRng), nil)
            }
        case .sharedStream:
            if !both {
                (forwardResult, backwardResult) = (runForward(&rng), nil)
            } else if training && options.dropout > 0 {
                forwardResult = runForward(&rng)
                backwardResult = runBackward(&rng)
            } else {
                // No masks are drawn, so each direction may hold its own copy of the generator.
                var backwardRng = rng
                (forwardResult, backwardResult) = Parallel.both({ runForward(&rng) }, { runBackward(&backwardRng) })
            }
        case .keyed(let draws):
            // Nothing is drawn from a generator; each direction gets an unused copy.
            var forwardRng = rng, backwardRng = rng
            let forwardMasks = draws.masks(direction: 0), backwardMasks = draws.masks(direction: 1)
            if both {
                (forwardResult, backwardResult) = Parallel.both({ runForward(&forwardRng, masks: forwardMasks) },
                                                                { runBackward(&backwardRng, masks: backwardMasks) })
            } else {
                (forwardResult, backwardResult) = (runForward(&forwardRng, masks: forwardMasks), nil)
            }
        }

        var result = BiLMPassResult(states: States(forward: forwardResult.finals, backward: backwardResult?.finals ?? initial.backward))
        result.encoderSeconds = encoderSeconds
        result.forwardOutputs = forwardResult.outputs
        result.backwardOutputs = backwardResult?.outputs ?? []

        let n = b * t
        let forwardTop = forwardResult.top?.reshaped([n, p]), backwardTop = backwardResult?.top?.reshaped([n, p])
        func targets() -> StreamBatch {
            guard case let .streams(batch, _) = pass.input else {
                preconditionFailure("BiLanguageModel.forward: softmax \(pass.softmax) needs targets, which only a .streams input has.")
            }
            return batch
        }
        switch pass.softmax {
        case .none:
            break
        case .loss:
            let softmax = requiredSoftmax("forward(softmax: .loss)"), batch = targets()
            let top = backwardTop.map { Tensor.concatenatingRows([forwardTop!, $0]) } ?? forwardTop!
            let targetIds = both ? batch.forwardTargets + batch.backwardTargets : batch.forwardTargets
            if let sampled = sampledSoftmax {
                var cache = SampledSoftmaxLoss.Cache()
                if case .keyed(let draws) = pass.dropoutDraws {
                    var negatives = draws.negatives()
                    (result.lossSum, result.targetCount) = sampled.forward(top, targets: targetIds, rng: &negatives, cache: &cache)
                } else {
                    (result.lossSum, result.targetCount) = sampled.forward(top, targets: targetIds, rng: &rng, cache: &cache)
                }
                if pass.keepForBackward { tape.softmax = .sampled(cache) }
            } else {
                var cache = SoftmaxCrossEntropyLoss.Cache()
                (result.lossSum, result.targetCount) = softmax.forward(top, targets: targetIds, cache: &cache)
                if pass.keepForBackward { tape.softmax = .full(cache) }
            }
            tape.targetCount = result.targetCount
        case .targetNegativeLogLikelihoods:
            let softmax = requiredSoftmax("forward(softmax: .targetNegativeLogLikelihoods)"), batch = targets()
            result.forwardNegativeLogLikelihoods = softmax.negativeLogLikelihoods(forwardTop!, targets: batch.forwardTargets)
            result.backwardNegativeLogLikelihoods = backwardTop.map { softmax.negativeLogLikelihoods($0, targets: batch.backwardTargets) } ?? []
        case .logProbabilities:
            let softmax = requiredSoftmax("forward(softmax: .logProbabilities)")
            result.forwardLogProbabilities = softmax.logProbabilities(forwardTop!)
            result.backwardLogProbabilities = backwardTop.map { softmax.logProbabilities($0) }
        }

        if case let .sentences(_, _, _, lengths) = pass.input, both {
            result.layers = Self.assembleLayers(embedded: embedded, forward: result.forwardOutputs, backward: result.backwardOutputs,
                                                lengths: lengths)
        }
        if pass.keepCells {
            result.forwardCells = forwardCache.memoryCells
            if both {
                result.backwardCells = backwardCache.memoryCells
                if case let .sentences(_, _, _, lengths) = pass.input {
                    result.backwardCells = result.backwardCells.map { $0.reversingSteps(lengths: lengths) }
                }
            }
        }
        if pass.keepForBackward {
            tape.forward = forwardCache
            tape.backward = backwardCache
            tape.forwardOutputDropout = forwardDrop
            tape.backwardOutputDropout = backwardDrop
            result.tape = tape
        }
        return result
    }

    /// An inference pass (`pass.training` must be false): no dropout, so no generator is needed.
    public func forward(_ pass: BiLMPass) -> BiLMPassResult {
        precondition(!pass.training, "BiLanguageModel.forward without a generator is for inference; a training pass draws dropout masks.")
        var unused = RandomGenerator(seed: 0)
        return forward(pass, rng: &unused)
    }

    /// The one backward pass: sends `gradient` down from the softmax or the layer outputs through both stacks
    /// (concurrently) and the token encoder, accumulating into their parameter gradients (the caller zeroes, clips
    /// and updates). `tape` comes from a forward pass with `keepForBackward`. `gradientsFinal(k)` is called as soon
    /// as the gradients of `gradientBuckets[k]` are complete (a stream pass over both directions only).
    public func backward(_ gradient: BiLMGradient, tape: BiLMTape, gradientsFinal: ((Int) -> Void)? = nil) {
        let p = projectionSize, both = tape.directions == .both
        let (b, t): (Int, Int)
        switch tape.layout {
        case let .streams(batch, steps), let .sentences(batch, steps, _): (b, t) = (batch, steps)
        }
        let n = b * t
        // ∂/∂ each stack's layer outputs (nil: no gradient there), and ∂/∂ layer 0 = [x; x] folded onto x.
        var dForward = [Tensor?](repeating: nil, count: layerCount), dBackward = dForward
        var dEncodings: Tensor?
        switch gradient {
        case .meanLoss:
            let scale = 1 / Float(max(tape.targetCount, 1))
            let dTop: Tensor
            switch tape.softmax {
            case .full(let cache): dTop = requiredSoftmax("backward(.meanLoss)").backward(scale: scale, cache: cache)
            case .sampled(let cache): dTop = sampledSoftmax!.backward(scale: scale, cache: cache)
            case .none: preconditionFailure("BiLanguageModel.backward(.meanLoss) needs a forward pass with softmax .loss and keepForBackward.")
            }
            gradientsFinal?(0)
            dForward[layerCount - 1] = outputDropout.backward(dTop.rows(0..<n, shape: [b, t, p]), cache: tape.forwardOutputDropout)
            if both {
                dBackward[layerCount - 1] = outputDropout.backward(dTop.rows(n..<(2 * n), shape: [b, t, p]), cache: tape.backwardOutputDropout)
            }
        case .layers(let dLayers):
            guard case let .sentences(_, _, lengths) = tape.layout, both else {
                preconditionFailure("BiLanguageModel.backward(.layers) needs a forward pass over .sentences with both directions.")
            }
            precondition(dLayers.count == layerCount + 1 && dLayers.allSatisfy { $0.shape == [b, t, 2 * p] },
                         "BiLanguageModel.backward got \(dLayers.map(\.shape)), but the forward pass produced \(layerCount + 1) x [\(b), \(t), \(2 * p)].")
            // Layer k was [fwd_k; reverse(bwd_k)], so each stack gets the gradient of every layer's output, the
            // backward stack's reversed; layer 0 was [x; x], so x collects both halves.
            for k in 0..<layerCount {
                let (df, db) = dLayers[k + 1].splittingColumns(at: p)
                dForward[k] = df
                dBackward[k] = db.reversingSteps(lengths: lengths)
            }
            let (d0a, d0b) = dLayers[0].splittingColumns(at: p)
            var d0 = d0a
            d0.add(d0b)
            dEncodings = d0
        }

        let (dForwardInput, dBackwardInput): (Tensor, Tensor?) = both
            ? Parallel.both({ () -> Tensor in
                                self.forwardStack.backward(dForward, cache: tape.forward, layerFinal: gradientsFinal.map { report in
                                    { report(self.gradientBucket(direction: 0, layer: $0)) }
                                })
                            }, { () -> Tensor in
                                self.backwardStack.backward(dBackward, cache: tape.backward, layerFinal: gradientsFinal.map { report in
                                    { report(self.gradientBucket(direction: 1, layer: $0)) }
                                })
                            })
            : (forwardStack.backward(dForward, cache: tape.forward), nil)
        switch tape.layout {
        case .streams:
            let dInputs = [dForwardInput.reshaped([n, p])] + (dBackwardInput.map { [$0.reshaped([n, p])] } ?? [])
            encoder.backward(Tensor.concatenatingRows(dInputs), cache: tape.encoder)
            gradientsFinal?(2 * layerCount + 1)
        case let .sentences(_, _, lengths):
            var d = dEncodings ?? dForwardInput
            if dEncodings != nil { d.add(dForwardInput) }
            if let dBackwardInput { d.add(dBackwardInput.reversingSteps(lengths: lengths)) }
            encoder.backward(d.reshaped([n, p]), cache: tape.encoder)
        }
    }
}
