import WapcGuest

// Hyperledger Fabric's fabcar sample (fabcar.proto): cars in the world state under CAR0, CAR1, …,
// each stored as a serialized Car message.

struct Car {
    var make: [UInt8] = []
    var model: [UInt8] = []
    var colour: [UInt8] = []
    var owner: [UInt8] = []

    init(make: String, model: String, colour: String, owner: String) {
        self.make = Array(make.utf8)
        self.model = Array(model.utf8)
        self.colour = Array(colour.utf8)
        self.owner = Array(owner.utf8)
    }

    init(_ reader: WireReader) throws(GuestError) {
        var reader = reader
        while !reader.isAtEnd {
            switch try reader.key() {
            case (1, 2): make = try reader.bytes()
            case (2, 2): model = try reader.bytes()
            case (3, 2): colour = try reader.bytes()
            case (4, 2): owner = try reader.bytes()
            case (_, let wireType): try reader.skip(wireType: wireType)
            }
        }
    }

    var encoded: [UInt8] {
        var writer = WireWriter(capacity: 64)
        writer.bytes(field: 1, make)
        writer.bytes(field: 2, model)
        writer.bytes(field: 3, colour)
        writer.bytes(field: 4, owner)
        return writer.bytes
    }
}

/// A CarRecord message: the key and the car.
func record(_ key: [UInt8], _ car: [UInt8]) -> [UInt8] {
    var writer = WireWriter(capacity: car.count + key.count + 8)
    writer.bytes(field: 1, key)
    writer.message(field: 2, car)
    return writer.bytes
}

/// A request's string field 1 (the key) and its field 2 (bytes or a submessage).
func keyAndSecond(_ payload: [UInt8]) throws(GuestError) -> (key: [UInt8], second: [UInt8]) {
    var reader = WireReader(payload)
    var key: [UInt8] = []
    var second: [UInt8] = []
    while !reader.isAtEnd {
        switch try reader.key() {
        case (1, 2): key = try reader.bytes()
        case (2, 2): second = try reader.bytes()
        case (_, let wireType): try reader.skip(wireType: wireType)
        }
    }
    guard !key.isEmpty else { throw GuestError("a car key is required") }
    return (key, second)
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

func stored(_ key: [UInt8]) throws(GuestError) -> [UInt8] {
    guard let car = try State.get(key) else { throw GuestError(text(key) + " does not exist") }
    return car
}

let sampleCars: [Car] = [
    Car(make: "Toyota", model: "Prius", colour: "blue", owner: "Tomoko"),
    Car(make: "Ford", model: "Mustang", colour: "red", owner: "Brad"),
    Car(make: "Hyundai", model: "Tucson", colour: "green", owner: "Jin Soo"),
    Car(make: "Volkswagen", model: "Passat", colour: "yellow", owner: "Max"),
    Car(make: "Tesla", model: "S", colour: "black", owner: "Adriana"),
    Car(make: "Peugeot", model: "205", colour: "purple", owner: "Michel"),
    Car(make: "Chery", model: "S22L", colour: "white", owner: "Aarav"),
    Car(make: "Fiat", model: "Punto", colour: "violet", owner: "Pari"),
    Car(make: "Tata", model: "Nano", colour: "indigo", owner: "Valeria"),
    Car(make: "Holden", model: "Barina", colour: "brown", owner: "Shotaro"),
]

@_expose(wasm, "wapc_init")
@_cdecl("wapc_init")
func wapcInit() {
    register("InitLedger") { _ throws(GuestError) in
        var list = WireWriter(capacity: 1024)
        for (index, car) in sampleCars.enumerated() {
            let key = Array(("CAR" + String(index)).utf8)
            let encoded = car.encoded
            try State.put(key, encoded)
            list.message(field: 1, record(key, encoded))
        }
        return list.bytes
    }
    register("CreateCar") { payload throws(GuestError) in
        let (key, car) = try keyAndSecond(payload)
        guard try State.get(key) == nil else { throw GuestError(text(key) + " exists already") }
        let encoded = try Car(WireReader(car)).encoded
        try State.put(key, encoded)
        return record(key, encoded)
    }
    register("QueryCar") { payload throws(GuestError) in
        let key = try keyAndSecond(payload).key
        return record(key, try stored(key))
    }
    register("QueryAllCars") { _ throws(GuestError) in
        var list = WireWriter(capacity: 1024)
        for (key, car) in try State.all(from: Array("CAR0".utf8), to: Array("CAR999".utf8)) {
            list.message(field: 1, record(key, car))
        }
        return list.bytes
    }
    register("ChangeCarOwner") { payload throws(GuestError) in
        let (key, owner) = try keyAndSecond(payload)
        var car = try Car(WireReader(try stored(key)))
        car.owner = owner
        let encoded = car.encoded
        try State.put(key, encoded)
        return record(key, encoded)
    }
}
