module tokenapi/tools/contract

go 1.24
