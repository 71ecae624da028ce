//! What a panicking handler answers: its call ends with UNKNOWN, as Python grpc answers an
//! exception raised in a handler, and the server goes on serving.

use std::any::Any;

use crate::RpcError;

/// The status of a call whose handler (or its response stream) panicked with `payload`:
/// UNKNOWN, with the panic message when it is a string (`panic!("...")` with or without
/// arguments), as Python's "Exception calling application: ...".
pub(crate) fn handler_panicked(payload: &(dyn Any + Send)) -> RpcError {
    let message =
        payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    match message {
        Some(message) => RpcError::unknown(format!("the method handler panicked: {message}")),
        None => RpcError::unknown("the method handler panicked"),
    }
}

#[cfg(test)]
mod tests {
    use super::handler_panicked;
    use crate::Code;

    #[test]
    fn the_message_of_a_string_panic_is_kept() {
        let literal = std::panic::catch_unwind(|| panic!("out of cheese")).expect_err("panicked");
        let err = handler_panicked(&*literal);
        assert_eq!((err.code(), err.details()), (Code::Unknown, "the method handler panicked: out of cheese"));

        let n = 3;
        let formatted = std::panic::catch_unwind(|| panic!("{n} is too many")).expect_err("panicked");
        assert_eq!(handler_panicked(&*formatted).details(), "the method handler panicked: 3 is too many");

        let other = std::panic::catch_unwind(|| std::panic::panic_any(7_u32)).expect_err("panicked");
        let err = handler_panicked(&*other);
        assert_eq!((err.code(), err.details()), (Code::Unknown, "the method handler panicked"));
    }
}
