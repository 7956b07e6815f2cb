module github.com/joblot/joblot

go 1.26
