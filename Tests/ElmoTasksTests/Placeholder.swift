import XCTest

final class ElmoTasksTestsPlaceholder: XCTestCase {}
