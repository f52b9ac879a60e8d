/// A trainable tensor and the gradient that backward passes accumulate into.
///
/// A reference type so that a layer, the optimizer and the checkpoint writer all see the same storage.
/// `name` is the stable key used in checkpoints (e.g. `"char_cnn/conv_0/weight"`).
public final class Parameter {
    public let name: String
    public var value: Tensor
    public var gradient: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        self.gradient = Tensor(zeros: value.shape)
    }

    public var shape: [Int] { value.shape }

    public func zeroGradient() {
        gradient.zero()
    }
}
