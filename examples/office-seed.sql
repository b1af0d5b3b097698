-- The same start on both sides: 4 case types, 100 clients, 50 cases, 20 documents.
-- Client 10 was referred by client 20, a row that comes later in key order.
INSERT INTO case_types (id, name) VALUES (1, 'divorce'), (2, 'estate'), (3, 'lease'), (4, 'contract');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO clients (id, name, phone, email, referred_by, balance, vip, created_at)
SELECT i, 'Client ' || i, '+1 555 01' || printf('%02d', i), 'client' || i || '@example.com',
       CASE WHEN i = 10 THEN 20 WHEN i % 7 = 0 THEN i - 1 END,
       printf('%d.%02d', i * 13 % 1000, i % 100), i % 10 = 0,
       printf('2026-01-%02d 09:%02d:00', i % 28 + 1, i % 60)
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
INSERT INTO cases (id, client_id, type_id, title, opened)
SELECT i, (i * 3) % 100 + 1, i % 4 + 1, 'Case ' || i || ' of client ' || ((i * 3) % 100 + 1),
       printf('2026-02-%02d', i % 28 + 1)
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
INSERT INTO documents (id, case_id, filename, content)
SELECT i, i * 2, 'doc' || i || '.pdf', zeroblob(i) || x'00ff7f80'
FROM n;
