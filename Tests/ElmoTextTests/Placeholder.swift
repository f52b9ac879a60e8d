import XCTest

final class ElmoTextTestsPlaceholder: XCTestCase {}
