
¿
fabcar.protofabcar"
Empty"]
Car
make (	Rmake
model (	Rmodel
colour (	Rcolour
owner (	Rowner"
CarKey
key (	Rkey"C
CreateCarRequest
key (	Rkey
car (2.fabcar.CarRcar"<
	CarRecord
key (	Rkey
car (2.fabcar.CarRcar"0
CarList%
cars (2.fabcar.CarRecordRcars"F
ChangeCarOwnerRequest
key (	Rkey
	new_owner (	RnewOwner2
FabCar,

InitLedger.fabcar.Empty.fabcar.CarList8
	CreateCar.fabcar.CreateCarRequest.fabcar.CarRecord2
QueryCar.fabcar.CarKey.fabcar.CarRecord"3
QueryAllCars.fabcar.Empty.fabcar.CarList"B
ChangeCarOwner.fabcar.ChangeCarOwnerRequest.fabcar.CarRecordbproto3