import ElmoBiLM
import ElmoEmbeddings
import ElmoTasks
import ElmoTensor
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// `elmo serve`: contextual embeddings, task predictions and sentence scores over HTTP, with dynamic batching.
///
/// Routes: `POST /v1/embed`, `POST /v1/predict`, `POST /v1/score`, `GET /health` (503 until the models are loaded),
/// `GET /metrics` (Prometheus text). Every refusal is a JSON error naming the field or the limit (`APIError`); the
/// server never crashes on input. SIGTERM or SIGINT stops accepting connections, lets the requests in flight finish
/// (their batches run to the end), then `run` returns.
public final class EmbeddingServer: @unchecked Sendable {
    public let settings: ServeSettings
    let logger: Logger
    let metrics = ServeMetrics()
    let scheduler: BatchScheduler
    let apiKey: APIKey?
    private let lock = NSLock()
    private var loaded: LoadedModels?
    private var kinds: [String: BatchKind] = [:]

    public init(settings: ServeSettings) {
        self.settings = settings
        var logger = Logger(label: "elmo-serve") { JSONLogHandler(label: $0) }
        logger.logLevel = .info
        self.logger = logger
        apiKey = settings.apiKey.map(APIKey.init)
        scheduler = BatchScheduler(threads: settings.computeThreads, maxBatchTokens: settings.maxBatchTokens,
                                   maxWait: Double(settings.maxWaitMilliseconds) / 1000, maxQueuedRequests: settings.maxQueuedRequests,
                                   metrics: metrics)
    }

    private var models: LoadedModels? { lock.withLock { loaded } }

    /// Serves until SIGTERM or SIGINT, then drains and returns; throws when the address cannot be bound or the
    /// models cannot be loaded (after stopping the server).
    public func run() async throws {
        let app = Application(router: makeRouter(),
                              configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "elmo"),
                              onServerRunning: { [logger, settings] channel in
                                  logger.info("listening", metadata: ["host": .string(settings.host),
                                                                      "port": .stringConvertible(channel.localAddress?.port ?? settings.port)])
                              },
                              logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        let loadFailure = LoadFailure()
        Thread.detachNewThread { [self] in
            do {
                let started = Date()
                let models = try LoadedModels(settings: settings)
                lock.withLock {
                    kinds = makeKinds(models)
                    loaded = models
                }
                logger.info("ready", metadata: ["model": .string(models.modelID), "dim": .stringConvertible(models.embedder.dimension),
                                                "seconds": .stringConvertible(Date().timeIntervalSince(started))])
            } catch {
                logger.error("loading failed", metadata: ["error": .string("\(error)")])
                loadFailure.error = error
                Task { await group.triggerGracefulShutdown() }
            }
        }
        try await group.run()
        scheduler.shutdown()
        logger.info("stopped", metadata: ["reason": .string(loadFailure.error == nil ? "signal" : "loading failed")])
        if let error = loadFailure.error { throw error }
    }

    private final class LoadFailure: @unchecked Sendable { var error: Error? }

    /// The batched computations: embedding, scoring, and one per task model.
    private func makeKinds(_ models: LoadedModels) -> [String: BatchKind] {
        let batchSize = settings.batchSize, budget = settings.maxBatchTokens
        var kinds: [String: BatchKind] = [
            "embed": BatchKind { models.embedder.embed($0, batchSize: batchSize, maxBatchTokens: budget) },
        ]
        if let scorer = models.scorer { kinds["score"] = BatchKind { scorer.score($0, batchSize: batchSize) } }
        for (names, model) in models.taskModels {
            kinds["predict:" + names[1]] = BatchKind { sentences in
                switch model {
                case .classifier(let classifier): return classifier.predict(sentences, batchSize: batchSize, maxBatchTokens: budget)
                case .tagger(let tagger): return tagger.predict(sentences, batchSize: batchSize, maxBatchTokens: budget)
                }
            }
        }
        return kinds
    }

    // MARK: - Routes

    private func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { [self] _, _ in
            let start = Date()
            let response: Response
            if let models {
                response = Self.json(["status": "ready", "model": models.modelID, "dim": models.embedder.dimension,
                                      "layers": models.embedder.layerCount, "task_models": models.taskModels.map { $0.names[1] },
                                      "score": models.scorer != nil], status: .ok)
            } else {
                response = Self.json(["status": "loading"], status: .serviceUnavailable)
            }
            metrics.request(route: "/health", status: response.status.code, seconds: Date().timeIntervalSince(start))
            return response
        }
        router.get("/metrics") { [self] _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        router.post("/v1/embed") { [self] request, _ in await handle("/v1/embed", request) { try await embed($0, $1, request) } }
        router.post("/v1/predict") { [self] request, _ in await handle("/v1/predict", request) { try await predict($0, $1) } }
        router.post("/v1/score") { [self] request, _ in await handle("/v1/score", request) { try await score($0, $1) } }
        return router
    }

    /// Authorisation, readiness, the body limit and the JSON; then `body`; every failure becomes its JSON error.
    private func handle(_ route: String, _ request: Request,
                        _ body: (LoadedModels, SentenceRequest) async throws -> Response) async -> Response {
        let start = Date()
        var sentences = 0, tokens = 0
        var response: Response
        do {
            if let apiKey, !apiKey.accepts(authorization: request.headers[.authorization]) {
                var error = APIError(status: .unauthorized, message: "missing or wrong API key: send the header Authorization: Bearer <key>")
                error.field = "Authorization"
                throw error
            }
            guard let models else {
                throw APIError(status: .serviceUnavailable, message: "the model is still loading; GET /health answers 200 once it is ready")
            }
            let parsed = try SentenceRequest(body: try await readBody(request), settings: settings)
            sentences = parsed.sentences.count
            tokens = parsed.tokenCount
            response = try await body(models, parsed)
        } catch let error as APIError {
            response = Self.error(error)
        } catch is BatchScheduler.QueueFull {
            response = Self.error(.overLimit("max_queue", maximum: settings.maxQueuedRequests,
                                             "\(settings.maxQueuedRequests) requests are already waiting (--max-queue); retry shortly",
                                             status: .tooManyRequests))
            response.headers[.retryAfter] = "1"
        } catch {
            logger.error("request failed", metadata: ["route": .string(route), "error": .string("\(error)")])
            response = Self.error(APIError(status: .internalServerError, message: "internal error: \(error)"))
        }
        let seconds = Date().timeIntervalSince(start)
        metrics.request(route: route, status: response.status.code, seconds: seconds)
        logger.info("request", metadata: ["route": .string(route), "status": .stringConvertible(response.status.code),
                                          "sentences": .stringConvertible(sentences), "tokens": .stringConvertible(tokens),
                                          "ms": .stringConvertible((seconds * 1000 * 10).rounded() / 10)])
        return response
    }

    /// The body, refused with 413 past `--max-body-bytes` (by its Content-Length before reading, or while reading).
    private func readBody(_ request: Request) async throws -> Data {
        let limit = settings.maxBodyBytes
        let tooLarge = APIError.overLimit("max_body_bytes", maximum: limit, "the body is larger than --max-body-bytes \(limit)")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw tooLarge }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw tooLarge
        }
    }

    private func kind(_ name: String) -> BatchKind? { lock.withLock { kinds[name] } }

    private func embed(_ models: LoadedModels, _ request: SentenceRequest, _ http: Request) async throws -> Response {
        let layers = try request.option("layers", default: LayerSelection.top, allowed: LayerSelection.allCases)
        let pooling = try request.option("pooling", default: SentencePooling.none, allowed: SentencePooling.allCases)
        let wantsNpy = http.headers[.accept]?.contains("application/x-npy") == true
        if wantsNpy && pooling == .none {
            throw APIError.badField("pooling", "Accept: application/x-npy returns one (N, D) array: it needs \"pooling\": \"mean\" or \"max\"")
        }
        let outputs = try await scheduler.run(kind("embed")!, request.sentences)
        let vectors = outputs.map { pooling.pool(layers.select($0 as! Tensor)) }
        if wantsNpy {
            var headers = HTTPFields()
            headers[.contentType] = "application/x-npy"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: ResponseEncoding.npy(rows: vectors))))
        }
        var text = "{\"model\":" + Self.quoted(models.modelID) + ",\"dim\":\(models.embedder.dimension),\"layers\":\"\(layers.rawValue)\","
            + "\"pooling\":\"\(pooling.rawValue)\",\"embeddings\":["
        for (i, vector) in vectors.enumerated() {
            if i > 0 { text.append(",") }
            ResponseEncoding.appendJSON(vector, to: &text)
        }
        text.append("]}")
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func predict(_ models: LoadedModels, _ request: SentenceRequest) async throws -> Response {
        let name: String?
        switch request.object["model"] {
        case nil: name = nil
        case let value as String: name = value
        default: throw APIError.badField("model", "\"model\" must be a string naming a loaded task model")
        }
        let (modelName, model) = try models.taskModel(named: name)
        let outputs = try await scheduler.run(kind("predict:" + modelName)!, request.sentences)
        let predictions: [[String: Any]]
        let kindName: String
        switch model {
        case .classifier(let classifier):
            kindName = ClassifierModel.kind
            predictions = outputs.map { output in
                let p = output as! Classifier.Prediction
                return ["label": p.label, "probability": Double(p.probability),
                        "probabilities": Dictionary(uniqueKeysWithValues: zip(classifier.labels, p.probabilities.map(Double.init)))]
            }
        case .tagger:
            kindName = TaggerModel.kind
            predictions = zip(request.sentences, outputs).map { ["tokens": $0, "tags": $1 as! [String]] }
        }
        return Self.json(["model": modelName, "kind": kindName, "predictions": predictions], status: .ok)
    }

    private func score(_ models: LoadedModels, _ request: SentenceRequest) async throws -> Response {
        guard let kind = kind("score") else {
            throw APIError(status: .notFound, message: "the checkpoint has no softmax (imported weights), so it cannot score; /v1/embed works")
        }
        let outputs = try await scheduler.run(kind, request.sentences)
        let scores: [[String: Any]] = outputs.map { output in
            let s = output as! SentenceScore
            return ["tokens": s.tokens, "forward_logprob": s.forwardLogProbability, "backward_logprob": s.backwardLogProbability,
                    "logprob": s.logProbability, "perplexity": s.perplexity ?? NSNull()]
        }
        return Self.json(["model": models.modelID, "scores": scores], status: .ok)
    }

    // MARK: - Responses

    static func json(_ object: [String: Any], status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: ResponseEncoding.json(object))))
    }

    static func error(_ error: APIError) -> Response {
        var response = json(error.json, status: error.status)
        if error.status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    static func quoted(_ string: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [string], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
