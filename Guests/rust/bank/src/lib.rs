//! `bank.Bank` (Guests/rust/bank/bank.proto): balances in the world state, under `balance/NAME`
//! as 8 bytes big-endian. Written without a waPC SDK or an initializer, as guest authors commonly
//! write them: the imports declared by hand, `__guest_call` dispatching on the operation's name,
//! prost for the messages and the standard allocator for everything.

use prost::Message;

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
}

#[derive(Clone, PartialEq, Message)]
struct Account {
    #[prost(string, tag = "1")]
    account: String,
}

#[derive(Clone, PartialEq, Message)]
struct DepositRequest {
    #[prost(string, tag = "1")]
    account: String,
    #[prost(uint64, tag = "2")]
    amount: u64,
}

#[derive(Clone, PartialEq, Message)]
struct TransferRequest {
    #[prost(string, tag = "1")]
    from: String,
    #[prost(string, tag = "2")]
    to: String,
    #[prost(uint64, tag = "3")]
    amount: u64,
}

#[derive(Clone, PartialEq, Message)]
struct Balance {
    #[prost(string, tag = "1")]
    account: String,
    #[prost(uint64, tag = "2")]
    balance: u64,
}

// wasmrpc.guest.v1 state messages (proto/wasmrpc/guest/v1/state.proto).
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

fn host_call(operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    let (binding, namespace) = ("wasmrpc", "state");
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

fn key(account: &str) -> Vec<u8> {
    [b"balance/".as_slice(), account.as_bytes()].concat()
}

fn balance(account: &str) -> Result<u64, String> {
    let answer = host_call("get", &GetRequest { key: key(account) }.encode_to_vec())?;
    let response = GetResponse::decode(answer.as_slice()).map_err(|error| error.to_string())?;
    if !response.found {
        return Ok(0);
    }
    let bytes: [u8; 8] = response.value.as_slice().try_into().map_err(|_| format!("the balance of {} is not 8 bytes", account))?;
    Ok(u64::from_be_bytes(bytes))
}

fn set_balance(account: &str, balance: u64) -> Result<(), String> {
    host_call("put", &PutRequest { key: key(account), value: balance.to_be_bytes().to_vec() }.encode_to_vec()).map(|_| ())
}

fn decode<M: Message + Default>(payload: &[u8]) -> Result<M, String> {
    M::decode(payload).map_err(|error| error.to_string())
}

fn deposit(payload: &[u8]) -> Result<Vec<u8>, String> {
    let request: DepositRequest = decode(payload)?;
    if request.account.is_empty() {
        return Err("an account needs a name".to_string());
    }
    let new = balance(&request.account)?.checked_add(request.amount).ok_or("the balance would overflow")?;
    set_balance(&request.account, new)?;
    Ok(Balance { account: request.account, balance: new }.encode_to_vec())
}

fn transfer(payload: &[u8]) -> Result<Vec<u8>, String> {
    let request: TransferRequest = decode(payload)?;
    if request.from.is_empty() || request.to.is_empty() {
        return Err("both accounts need a name".to_string());
    }
    let from = balance(&request.from)?;
    let left = from.checked_sub(request.amount).ok_or_else(|| format!("{} has {}, less than {}", request.from, from, request.amount))?;
    set_balance(&request.from, left)?;
    let to = balance(&request.to)?.checked_add(request.amount).ok_or("the balance would overflow")?;
    set_balance(&request.to, to)?;
    Ok(Balance { account: request.from, balance: left }.encode_to_vec())
}

fn get_balance(payload: &[u8]) -> Result<Vec<u8>, String> {
    let request: Account = decode(payload)?;
    let balance = balance(&request.account)?;
    Ok(Balance { account: request.account, balance }.encode_to_vec())
}

#[no_mangle]
pub extern "C" fn __guest_call(operation_length: usize, payload_length: usize) -> usize {
    let mut operation = vec![0u8; operation_length];
    let mut payload = vec![0u8; payload_length];
    unsafe { __guest_request(operation.as_mut_ptr(), payload.as_mut_ptr()) };
    let result = match operation.as_slice() {
        b"Deposit" => deposit(&payload),
        b"Transfer" => transfer(&payload),
        b"GetBalance" => get_balance(&payload),
        _ => Err(format!("unknown operation {}", String::from_utf8_lossy(&operation))),
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
