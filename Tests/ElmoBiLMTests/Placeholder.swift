import XCTest

final class ElmoBiLMTestsPlaceholder: XCTestCase {}
