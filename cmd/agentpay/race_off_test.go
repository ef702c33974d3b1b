//go:build !race

package main

// raceEnabled says the tests run with -race; the binary under test is then
// built with it too.
const raceEnabled = false
