// Package catalog describes what sqld stores: the SQL types and their Arrow
// and Postgres forms, and the descriptors of tables, streams and views.
//
// It imports only Arrow. Persistence of descriptors is done by the session
// layer, which stores their encoded form in the wide-column store; this
// package only encodes and decodes them.
package catalog
