module github.com/stepline/stepline

go 1.26
