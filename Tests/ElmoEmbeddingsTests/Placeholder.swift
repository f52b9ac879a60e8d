import XCTest

final class ElmoEmbeddingsTestsPlaceholder: XCTestCase {}
