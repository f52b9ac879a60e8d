// The library's one module to import. `import ElmoKit` gives the whole public API, in data-flow order:
// readers and vocabularies (ElmoText), layers and optimizers, the biLM and checkpoint loading (ElmoBiLM),
// the contextual embedder and ScalarMix (ElmoEmbeddings), the classifier and tagger (ElmoTasks), their metrics,
// and the file formats (ElmoStorage) and tensors underneath. The targets stay separate so that each builds and
// is tested on its own, and so that no stage depends on one later in the flow.
@_exported import ElmoBiLM
@_exported import ElmoEmbeddings
@_exported import ElmoLayers
@_exported import ElmoMetrics
@_exported import ElmoOptim
@_exported import ElmoStorage
@_exported import ElmoTasks
@_exported import ElmoTensor
@_exported import ElmoText
