-- The demo's small office app: clients (one may refer another), case types,
-- cases that belong to clients, documents that belong to cases.
PRAGMA foreign_keys = ON;
CREATE TABLE case_types (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);
CREATE TABLE clients (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	phone TEXT,
	email TEXT,
	referred_by INTEGER REFERENCES clients(id),
	balance NUMERIC(10,2) NOT NULL DEFAULT 0,
	vip BOOLEAN NOT NULL DEFAULT 0,
	created_at DATETIME NOT NULL
);
CREATE TABLE cases (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id INTEGER NOT NULL REFERENCES clients(id),
	type_id INTEGER NOT NULL REFERENCES case_types(id),
	title TEXT NOT NULL,
	opened DATE NOT NULL
);
CREATE TABLE documents (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	case_id INTEGER NOT NULL REFERENCES cases(id),
	filename TEXT NOT NULL,
	content BLOB
);
