// Package sqllogic runs the project's own sqllogictest files (*.slt in this
// directory) against an in-process sqld, one fresh server and data
// directory per file. The files are the contract for the SQL engine: each
// must also pass against PostgreSQL (see README.md).
package sqllogic
