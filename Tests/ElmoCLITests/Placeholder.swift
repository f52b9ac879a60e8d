import XCTest

final class ElmoCLITestsPlaceholder: XCTestCase {}
