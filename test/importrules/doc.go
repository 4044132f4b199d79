// Package importrules holds no code: its test checks the import rules of the module (which
// packages may depend on which), so that a forbidden import fails `make unit`.
package importrules
