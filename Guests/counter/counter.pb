
˙
counter.protocounter"
Name
name (	Rname"0

AddRequest
name (	Rname
by (Rby"
Value
value (Rvalue"6

NamedValue
name (	Rname
value (Rvalue";
Counters/
counters (2.counter.NamedValueRcounters"3
FailRequest
name (	Rname
how (	Rhow"
Text
text (	Rtext"K
FillRequest
name (	Rname
count (Rcount
size (Rsize2◊
Counter*
Add.counter.AddRequest.counter.Value)
Get.counter.Name.counter.Value"ê-
List.counter.Name.counter.Counters"ê3
AddThenFail.counter.FailRequest.counter.Value3
WriteFromQuery.counter.Name.counter.Text"ê.
ReadYourWrites.counter.Name.counter.Text,
Fill.counter.FillRequest.counter.Valuebproto3