
≠

bank.protobank"#
Account
account (	Raccount"B
DepositRequest
account (	Raccount
amount (Ramount"M
TransferRequest
from (	Rfrom
to (	Rto
amount (Ramount"=
Balance
account (	Raccount
balance (Rbalance2ô
Bank.
Deposit.bank.DepositRequest.bank.Balance0
Transfer.bank.TransferRequest.bank.Balance/

GetBalance.bank.Account.bank.Balance"êbproto3