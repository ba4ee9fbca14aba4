module tokenapi/tools/loadtest

go 1.24
