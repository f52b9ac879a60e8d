import XCTest

final class ElmoMetricsTestsPlaceholder: XCTestCase {}
