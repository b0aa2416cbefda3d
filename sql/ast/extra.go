package ast

// Default is the DEFAULT keyword used as a value in an INSERT ... VALUES
// row: the column's default (or NULL) is inserted.
type Default struct{}

func (*Default) expr() {}
