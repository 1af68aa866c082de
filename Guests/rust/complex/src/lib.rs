//! `complex.Calculator/mul` (Guests/complex/complex.proto) in Rust, as the original author wrote
//! guests: multiplies two complex numbers and tells the host (binding "b", namespace
//! "complex::any", operation "mul") what it computed.

use prost::Message;
use wapc_state::{host_call, register};

#[derive(Clone, Copy, PartialEq, Message)]
struct Complex {
    #[prost(float, tag = "1")]
    real: f32,
    #[prost(float, tag = "2")]
    imag: f32,
}

#[derive(Clone, PartialEq, Message)]
struct ComplexRequest {
    #[prost(message, optional, tag = "1")]
    a: Option<Complex>,
    #[prost(message, optional, tag = "2")]
    b: Option<Complex>,
}

#[derive(Clone, PartialEq, Message)]
struct ComplexResponse {
    #[prost(message, optional, tag = "1")]
    result: Option<Complex>,
}

#[derive(Clone, PartialEq, Message)]
struct ComplexLog {
    #[prost(message, optional, tag = "1")]
    a: Option<Complex>,
    #[prost(message, optional, tag = "2")]
    b: Option<Complex>,
    #[prost(message, optional, tag = "3")]
    result: Option<Complex>,
}

fn mul(payload: &[u8]) -> Result<Vec<u8>, String> {
    let request = ComplexRequest::decode(payload).map_err(|error| format!("not a ComplexRequest: {}", error))?;
    let a = request.a.unwrap_or_default();
    let b = request.b.unwrap_or_default();
    let result = Complex { real: a.real * b.real - a.imag * b.imag, imag: a.real * b.imag + a.imag * b.real };
    // Logging is best effort: a host without the capability must not fail the multiplication.
    let log = ComplexLog { a: Some(a), b: Some(b), result: Some(result) };
    let _ = host_call("b", "complex::any", "mul", &log.encode_to_vec());
    Ok(ComplexResponse { result: Some(result) }.encode_to_vec())
}

#[no_mangle]
pub extern "C" fn wapc_init() {
    register("mul", mul);
}
