#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The signal (SIGINT or SIGTERM) that asked the process to stop, 0 while none came. Written only by the handler.
private var receivedSignal: sig_atomic_t = 0

/// SIGINT and SIGTERM as a request to stop cleanly: the first one only sets a flag, which the training loops check
/// after each step (they finish the step, save, and throw `StopSignal.Stopped`); a second one exits at once with
/// 128 + its number, as an unhandled signal would.
package enum StopSignal {
    /// Installs the handlers (the commands that train call this; without it signals keep their default action).
    package static func install() {
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = { number in
                if receivedSignal != 0 { _exit(128 + number) }
                receivedSignal = number
            }
            #else
            action.__sigaction_u.__sa_handler = { number in
                if receivedSignal != 0 { _exit(128 + number) }
                receivedSignal = number
            }
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
    }

    /// The signal that asked to stop, or nil.
    package static var requested: Int32? { receivedSignal == 0 ? nil : receivedSignal }

    /// Thrown by a training loop that stopped on a signal after saving; `message` says what was saved and how to go on.
    package struct Stopped: Error, CustomStringConvertible {
        package var signal: Int32
        package var message: String
        /// 130 for SIGINT, 143 for SIGTERM.
        package var exitCode: Int32 { 128 + signal }
        package var signalName: String { signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)" }
        package var description: String { "Stopped by \(signalName): \(message)" }

        package init(signal: Int32, message: String) {
            self.signal = signal
            self.message = message
        }
    }
}
