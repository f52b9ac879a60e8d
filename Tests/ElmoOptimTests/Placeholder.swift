import XCTest

final class ElmoOptimTestsPlaceholder: XCTestCase {}
