//! The waPC guest side (<https://wapc.io/docs/spec/>) and wasmrpc's world-state API for Rust guests.
//!
//! A guest registers its handlers from `wapc_init` with [`register`]; the host calls
//! `__guest_call`, which this crate exports. [`state`] reads and writes the module's world state
//! through the `wasmrpc`/`state` host capability (proto/wasmrpc/guest/v1/state.proto).

use std::cell::RefCell;



#[link(wasm_import_module = "wapc")]
extern "C" {
    fn __guest_request(operation: *mut u8, payload: *mut u8);
    fn __guest_response(pointer: *const u8, length: usize);
    fn __guest_error(pointer: *const u8, length: usize);
    fn __host_call(
        binding: *const u8,
        binding_length: usize,
        namespace: *const u8,
        namespace_length: usize,
        operation: *const u8,
        operation_length: usize,
        payload: *const u8,
        payload_length: usize,
    ) -> usize;
    fn __host_response_len() -> usize;
    fn __host_response(pointer: *mut u8);
    fn __host_error_len() -> usize;
    fn __host_error(pointer: *mut u8);
    fn __console_log(pointer: *const u8, length: usize);
}

/// A function the host calls by name: the request payload in, the response payload or an error
/// message out.
pub type Handler = fn(&[u8]) -> Result<Vec<u8>, String>;

thread_local! {
    static HANDLERS: RefCell<Vec<(&'static str, Handler)>> = RefCell::new(Vec::new());
}

/// Makes `handler` answer waPC calls of `operation` (registering a name again replaces it).
pub fn register(operation: &'static str, handler: Handler) {
    HANDLERS.with(|handlers| {
        let mut handlers = handlers.borrow_mut();
        handlers.retain(|(name, _)| *name != operation);
        handlers.push((operation, handler));
    });
}

/// The waPC entry point: pulls the operation and payload, runs the handler, and answers 1 (response
/// set) or 0 (error set).
#[no_mangle]
pub extern "C" fn __guest_call(operation_length: i32, payload_length: i32) -> i32 {
    let mut operation = vec![0u8; operation_length as usize];
    let mut payload = vec![0u8; payload_length as usize];
    unsafe { __guest_request(operation.as_mut_ptr(), payload.as_mut_ptr()) };
    let handler = HANDLERS.with(|handlers| handlers.borrow().iter().find(|(name, _)| name.as_bytes() == operation).map(|(_, h)| *h));
    let result = match handler {
        Some(handler) => handler(&payload),
        None => Err(format!("unknown operation: {}", String::from_utf8_lossy(&operation))),
    };
    match result {
        Ok(response) => {
            unsafe { __guest_response(response.as_ptr(), response.len()) };
            1
        }
        Err(message) => {
            unsafe { __guest_error(message.as_ptr(), message.len()) };
            0
        }
    }
}

/// Calls the host (`__host_call`): its response, or its error text.
pub fn host_call(binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    let succeeded = unsafe {
        __host_call(
            binding.as_ptr(),
            binding.len(),
            namespace.as_ptr(),
            namespace.len(),
            operation.as_ptr(),
            operation.len(),
            payload.as_ptr(),
            payload.len(),
        )
    };
    if succeeded == 1 {
        let mut response = vec![0u8; unsafe { __host_response_len() }];
        unsafe { __host_response(response.as_mut_ptr()) };
        Ok(response)
    } else {
        let mut error = vec![0u8; unsafe { __host_error_len() }];
        unsafe { __host_error(error.as_mut_ptr()) };
        Err(String::from_utf8_lossy(&error).into_owned())
    }
}

/// Writes a line to the host's log (`__console_log`).
pub fn console_log(message: &str) {
    unsafe { __console_log(message.as_ptr(), message.len()) };
}

/// The module's world state (docs/CHAINCODE.md). Keys and values are bytes; in a query (a
/// NO_SIDE_EFFECTS method) `put` and `delete` fail.
pub mod state {
    use prost::Message;

    #[derive(Clone, PartialEq, Message)]
    struct GetRequest {
        #[prost(bytes = "vec", tag = "1")]
        key: Vec<u8>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct GetResponse {
        #[prost(bool, tag = "1")]
        found: bool,
        #[prost(bytes = "vec", tag = "2")]
        value: Vec<u8>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct PutRequest {
        #[prost(bytes = "vec", tag = "1")]
        key: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        value: Vec<u8>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct DeleteRequest {
        #[prost(bytes = "vec", tag = "1")]
        key: Vec<u8>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct RangeRequest {
        #[prost(bytes = "vec", tag = "1")]
        start_key: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        end_key: Vec<u8>,
        #[prost(uint32, tag = "3")]
        limit: u32,
    }

    /// One key and its value.
    #[derive(Clone, PartialEq, Message)]
    pub struct KeyValue {
        #[prost(bytes = "vec", tag = "1")]
        pub key: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        pub value: Vec<u8>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct RangeResponse {
        #[prost(message, repeated, tag = "1")]
        entries: Vec<KeyValue>,
        #[prost(bool, tag = "2")]
        more: bool,
    }

    fn call(operation: &str, request: impl Message) -> Result<Vec<u8>, String> {
        super::host_call("wasmrpc", "state", operation, &request.encode_to_vec())
    }

    /// The value of `key`, or `None`.
    pub fn get(key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let answer = call("get", GetRequest { key: key.to_vec() })?;
        let response = GetResponse::decode(answer.as_slice()).map_err(|error| error.to_string())?;
        Ok(if response.found { Some(response.value) } else { None })
    }

    /// Sets the value of `key`.
    pub fn put(key: &[u8], value: &[u8]) -> Result<(), String> {
        call("put", PutRequest { key: key.to_vec(), value: value.to_vec() }).map(|_| ())
    }

    /// Removes `key` (no error if it has no value).
    pub fn delete(key: &[u8]) -> Result<(), String> {
        call("delete", DeleteRequest { key: key.to_vec() }).map(|_| ())
    }

    /// The keys `start <= k < end` (empty `end`: no bound) in key order with their values: at most
    /// `limit` (0: 100, at most 1000), and whether more follow.
    pub fn range(start: &[u8], end: &[u8], limit: u32) -> Result<(Vec<KeyValue>, bool), String> {
        let answer = call("range", RangeRequest { start_key: start.to_vec(), end_key: end.to_vec(), limit })?;
        let response = RangeResponse::decode(answer.as_slice()).map_err(|error| error.to_string())?;
        Ok((response.entries, response.more))
    }

    /// Every entry of `start..end`, page by page.
    pub fn all(start: &[u8], end: &[u8]) -> Result<Vec<KeyValue>, String> {
        let mut entries = Vec::new();
        let mut next = start.to_vec();
        loop {
            let (page, more) = range(&next, end, 1000)?;
            let last = page.last().map(|entry| entry.key.clone());
            entries.extend(page);
            match (more, last) {
                (true, Some(mut key)) => {
                    key.push(0);
                    next = key;
                }
                _ => return Ok(entries),
            }
        }
    }
}
