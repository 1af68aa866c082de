//! Hyperledger Fabric's fabcar sample (Guests/fabcar/fabcar.proto) in Rust: cars in the world
//! state under CAR0, CAR1, …, each a serialized `Car`. Behaves like the Swift guest in
//! Guests/fabcar.

use prost::Message;
use wapc_state::{register, state};

#[derive(Clone, PartialEq, Message)]
struct Empty {}

#[derive(Clone, PartialEq, Message)]
struct Car {
    #[prost(string, tag = "1")]
    make: String,
    #[prost(string, tag = "2")]
    model: String,
    #[prost(string, tag = "3")]
    colour: String,
    #[prost(string, tag = "4")]
    owner: String,
}

#[derive(Clone, PartialEq, Message)]
struct CarKey {
    #[prost(string, tag = "1")]
    key: String,
}

#[derive(Clone, PartialEq, Message)]
struct CreateCarRequest {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(message, optional, tag = "2")]
    car: Option<Car>,
}

#[derive(Clone, PartialEq, Message)]
struct CarRecord {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(message, optional, tag = "2")]
    car: Option<Car>,
}

#[derive(Clone, PartialEq, Message)]
struct CarList {
    #[prost(message, repeated, tag = "1")]
    cars: Vec<CarRecord>,
}

#[derive(Clone, PartialEq, Message)]
struct ChangeCarOwnerRequest {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, tag = "2")]
    new_owner: String,
}

fn decode<M: Message + Default>(payload: &[u8]) -> Result<M, String> {
    M::decode(payload).map_err(|error| error.to_string())
}

fn required(key: &str) -> Result<(), String> {
    if key.is_empty() {
        Err("a car key is required".to_string())
    } else {
        Ok(())
    }
}

fn stored(key: &str) -> Result<Car, String> {
    match state::get(key.as_bytes())? {
        Some(bytes) => decode(&bytes),
        None => Err(format!("{} does not exist", key)),
    }
}

fn put(key: &str, car: Car) -> Result<Vec<u8>, String> {
    state::put(key.as_bytes(), &car.encode_to_vec())?;
    Ok(CarRecord { key: key.to_string(), car: Some(car) }.encode_to_vec())
}

fn init_ledger(_: &[u8]) -> Result<Vec<u8>, String> {
    let sample = [
        ("Toyota", "Prius", "blue", "Tomoko"),
        ("Ford", "Mustang", "red", "Brad"),
        ("Hyundai", "Tucson", "green", "Jin Soo"),
        ("Volkswagen", "Passat", "yellow", "Max"),
        ("Tesla", "S", "black", "Adriana"),
        ("Peugeot", "205", "purple", "Michel"),
        ("Chery", "S22L", "white", "Aarav"),
        ("Fiat", "Punto", "violet", "Pari"),
        ("Tata", "Nano", "indigo", "Valeria"),
        ("Holden", "Barina", "brown", "Shotaro"),
    ];
    let mut list = CarList { cars: Vec::new() };
    for (index, (make, model, colour, owner)) in sample.iter().enumerate() {
        let key = format!("CAR{}", index);
        let car = Car { make: make.to_string(), model: model.to_string(), colour: colour.to_string(), owner: owner.to_string() };
        state::put(key.as_bytes(), &car.encode_to_vec())?;
        list.cars.push(CarRecord { key, car: Some(car) });
    }
    Ok(list.encode_to_vec())
}

fn create_car(payload: &[u8]) -> Result<Vec<u8>, String> {
    let request: CreateCarRequest = decode(payload)?;
    required(&request.key)?;
    if state::get(request.key.as_bytes())?.is_some() {
        return Err(format!("{} exists already", request.key));
    }
    put(&request.key, request.car.unwrap_or_default())
}

fn query_car(payload: &[u8]) -> Result<Vec<u8>, String> {
    let request: CarKey = decode(payload)?;
    required(&request.key)?;
    let car = stored(&request.key)?;
    Ok(CarRecord { key: request.key, car: Some(car) }.encode_to_vec())
}

fn query_all_cars(_: &[u8]) -> Result<Vec<u8>, String> {
    let mut list = CarList { cars: Vec::new() };
    for entry in state::all(b"CAR0", b"CAR999")? {
        let key = String::from_utf8(entry.key).map_err(|error| error.to_string())?;
        list.cars.push(CarRecord { key, car: Some(decode(&entry.value)?) });
    }
    Ok(list.encode_to_vec())
}

fn change_car_owner(payload: &[u8]) -> Result<Vec<u8>, String> {
    let request: ChangeCarOwnerRequest = decode(payload)?;
    required(&request.key)?;
    let mut car = stored(&request.key)?;
    car.owner = request.new_owner;
    put(&request.key, car)
}

#[no_mangle]
pub extern "C" fn wapc_init() {
    register("InitLedger", init_ledger);
    register("CreateCar", create_car);
    register("QueryCar", query_car);
    register("QueryAllCars", query_all_cars);
    register("ChangeCarOwner", change_car_owner);
}
