// Package plans reads and checks the migration plan file. The plan's logs
// section, the field mapping, is also used on its own by the translators: a
// --mapping file may hold a whole plan or only a top-level logs list.
package plans
