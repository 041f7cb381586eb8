-- ensure_meta
IF SCHEMA_ID(N'hubsync') IS NULL EXEC(N'CREATE SCHEMA [hubsync]')
;
IF OBJECT_ID(N'[hubsync].[tables]') IS NULL CREATE TABLE [hubsync].[tables] (id bigint IDENTITY(1,1) PRIMARY KEY, namespace nvarchar(128) NOT NULL, name nvarchar(128) NOT NULL, format int NOT NULL, columns nvarchar(max) NOT NULL, CONSTRAINT [tables_name] UNIQUE (namespace, name))
;
IF OBJECT_ID(N'[hubsync].[seq]') IS NULL CREATE SEQUENCE [hubsync].[seq] AS bigint START WITH 1
;

-- identity
IF OBJECT_ID(N'[hubsync].[database]') IS NULL CREATE TABLE [hubsync].[database] (one int NOT NULL PRIMARY KEY CHECK (one = 1), id nvarchar(64) NOT NULL)
;
IF NOT EXISTS (SELECT 1 FROM [hubsync].[database]) INSERT INTO [hubsync].[database] (one, id) VALUES (1, LOWER(REPLACE(CONVERT(nvarchar(36), NEWID()), N'-', N'')))
;
IF OBJECT_ID(N'[hubsync].[database]') IS NOT NULL SELECT id FROM [hubsync].[database] WHERE one = 1
;

-- registry
IF OBJECT_ID(N'[hubsync].[tables]') IS NOT NULL SELECT id, columns FROM [hubsync].[tables] WHERE namespace = @P1 AND name = @P2
;
INSERT INTO [hubsync].[tables] (namespace, name, format, columns) OUTPUT inserted.id VALUES (@P1, @P2, @P3, @P4)
;
UPDATE [hubsync].[tables] SET columns = @P1, format = @P2 WHERE id = @P3
;

-- sample: provision (new)
IF OBJECT_ID(N'[hubsync].[track_7]') IS NULL BEGIN CREATE TABLE [hubsync].[track_7] ([region] nvarchar(32) COLLATE Latin1_General_100_BIN2 NOT NULL, [tag] varbinary(16) NOT NULL, ver rowversion NOT NULL, seq bigint NOT NULL, deleted bit NOT NULL, origin nvarchar(400) NULL, changed_at bigint NOT NULL, PRIMARY KEY ([region], [tag])); CREATE INDEX [track_7_order] ON [hubsync].[track_7] (ver, seq) END
;
DROP TRIGGER IF EXISTS [sales].[hubsync_capture_7]
;
CREATE TRIGGER [sales].[hubsync_capture_7] ON [sales].[order lines]]] AFTER INSERT, UPDATE, DELETE AS
BEGIN
SET NOCOUNT ON;
IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
DECLARE @o nvarchar(400) = CAST(SESSION_CONTEXT(N'hubsync.origin') AS nvarchar(400));
DECLARE @at bigint = DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME());
UPDATE t SET deleted = 1, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN deleted d ON t.[region] = d.[region] AND t.[tag] = d.[tag] WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]);
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at) SELECT d.[region], d.[tag], NEXT VALUE FOR [hubsync].[seq], 1, @o, @at FROM deleted d WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]) AND NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]);
UPDATE t SET deleted = 0, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN inserted i ON t.[region] = i.[region] AND t.[tag] = i.[tag];
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at) SELECT i.[region], i.[tag], NEXT VALUE FOR [hubsync].[seq], 0, @o, @at FROM inserted i WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = i.[region] AND x.[tag] = i.[tag]);
END
;
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at) SELECT b.[region], b.[tag], NEXT VALUE FOR [hubsync].[seq], 0, NULL, DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME()) FROM [sales].[order lines]]] b WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = b.[region] AND x.[tag] = b.[tag])
;

-- sample: provision (key changed)
DROP TABLE IF EXISTS [hubsync].[track_7]
;
IF OBJECT_ID(N'[hubsync].[track_7]') IS NULL BEGIN CREATE TABLE [hubsync].[track_7] ([region] nvarchar(32) COLLATE Latin1_General_100_BIN2 NOT NULL, [tag] varbinary(16) NOT NULL, ver rowversion NOT NULL, seq bigint NOT NULL, deleted bit NOT NULL, origin nvarchar(400) NULL, changed_at bigint NOT NULL, PRIMARY KEY ([region], [tag])); CREATE INDEX [track_7_order] ON [hubsync].[track_7] (ver, seq) END
;
DROP TRIGGER IF EXISTS [sales].[hubsync_capture_7]
;
CREATE TRIGGER [sales].[hubsync_capture_7] ON [sales].[order lines]]] AFTER INSERT, UPDATE, DELETE AS
BEGIN
SET NOCOUNT ON;
IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
DECLARE @o nvarchar(400) = CAST(SESSION_CONTEXT(N'hubsync.origin') AS nvarchar(400));
DECLARE @at bigint = DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME());
UPDATE t SET deleted = 1, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN deleted d ON t.[region] = d.[region] AND t.[tag] = d.[tag] WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]);
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at) SELECT d.[region], d.[tag], NEXT VALUE FOR [hubsync].[seq], 1, @o, @at FROM deleted d WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]) AND NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]);
UPDATE t SET deleted = 0, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN inserted i ON t.[region] = i.[region] AND t.[tag] = i.[tag];
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at) SELECT i.[region], i.[tag], NEXT VALUE FOR [hubsync].[seq], 0, @o, @at FROM inserted i WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = i.[region] AND x.[tag] = i.[tag]);
END
;
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at) SELECT b.[region], b.[tag], NEXT VALUE FOR [hubsync].[seq], 0, NULL, DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME()) FROM [sales].[order lines]]] b WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = b.[region] AND x.[tag] = b.[tag])
;

-- sample: provision (columns changed)
IF OBJECT_ID(N'[hubsync].[track_7]') IS NULL BEGIN CREATE TABLE [hubsync].[track_7] ([region] nvarchar(32) COLLATE Latin1_General_100_BIN2 NOT NULL, [tag] varbinary(16) NOT NULL, ver rowversion NOT NULL, seq bigint NOT NULL, deleted bit NOT NULL, origin nvarchar(400) NULL, changed_at bigint NOT NULL, PRIMARY KEY ([region], [tag])); CREATE INDEX [track_7_order] ON [hubsync].[track_7] (ver, seq) END
;
DROP TRIGGER IF EXISTS [sales].[hubsync_capture_7]
;
CREATE TRIGGER [sales].[hubsync_capture_7] ON [sales].[order lines]]] AFTER INSERT, UPDATE, DELETE AS
BEGIN
SET NOCOUNT ON;
IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
DECLARE @o nvarchar(400) = CAST(SESSION_CONTEXT(N'hubsync.origin') AS nvarchar(400));
DECLARE @at bigint = DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME());
UPDATE t SET deleted = 1, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN deleted d ON t.[region] = d.[region] AND t.[tag] = d.[tag] WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]);
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at) SELECT d.[region], d.[tag], NEXT VALUE FOR [hubsync].[seq], 1, @o, @at FROM deleted d WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]) AND NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]);
UPDATE t SET deleted = 0, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN inserted i ON t.[region] = i.[region] AND t.[tag] = i.[tag];
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at) SELECT i.[region], i.[tag], NEXT VALUE FOR [hubsync].[seq], 0, @o, @at FROM inserted i WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = i.[region] AND x.[tag] = i.[tag]);
END
;
UPDATE [hubsync].[track_7] SET seq = NEXT VALUE FOR [hubsync].[seq] WHERE deleted = 0
;
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at) SELECT b.[region], b.[tag], NEXT VALUE FOR [hubsync].[seq], 0, NULL, DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME()) FROM [sales].[order lines]]] b WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = b.[region] AND x.[tag] = b.[tag])
;

-- sample: read_changes
DECLARE @bound binary(8) = MIN_ACTIVE_ROWVERSION();
SELECT TOP (@P3) CAST(t.ver AS bigint), t.seq, CASE WHEN t.deleted = 1 OR b.[region] IS NULL THEN 1 ELSE 0 END, t.origin, t.changed_at, t.[region], t.[tag], b.[region], b.[tag], b.[line no], CAST(b.[price] AS decimal(19,4)), CAST(b.[placed] AS datetime2(3)), b.[at], b.[note] FROM [hubsync].[track_7] t LEFT JOIN [sales].[order lines]]] b ON b.[region] = t.[region] AND b.[tag] = t.[tag] WHERE (t.ver > CAST(@P1 AS binary(8)) OR (t.ver = CAST(@P1 AS binary(8)) AND t.seq > @P2)) AND t.ver < @bound ORDER BY t.ver, t.seq;
SELECT CASE WHEN EXISTS (SELECT 1 FROM [hubsync].[track_7] WHERE ver >= @bound) THEN 1 ELSE 0 END
;

-- sample: upsert
CREATE TABLE #hubsync_rows (c0 nvarchar(max) NULL, c1 varbinary(max) NULL, c2 bigint NULL, c3 nvarchar(100) NULL, c4 nvarchar(100) NULL, c5 nvarchar(100) NULL, c6 nvarchar(max) NULL)
;
UPDATE b SET [price] = CAST(r.c3 AS decimal(38,4)), [placed] = CAST(r.c4 AS datetime2(7)), [at] = CAST(r.c5 AS datetimeoffset(7)), [note] = r.c6 FROM [sales].[order lines]]] b JOIN #hubsync_rows r ON b.[region] = r.c0 COLLATE Latin1_General_100_BIN2 AND b.[tag] = r.c1;
SET IDENTITY_INSERT [sales].[order lines]]] ON; INSERT INTO [sales].[order lines]]] ([region], [tag], [line no], [price], [placed], [at], [note]) SELECT r.c0, r.c1, r.c2, CAST(r.c3 AS decimal(38,4)), CAST(r.c4 AS datetime2(7)), CAST(r.c5 AS datetimeoffset(7)), r.c6 FROM #hubsync_rows r WHERE NOT EXISTS (SELECT 1 FROM [sales].[order lines]]] b WHERE b.[region] = r.c0 COLLATE Latin1_General_100_BIN2 AND b.[tag] = r.c1); SET IDENTITY_INSERT [sales].[order lines]]] OFF;
DROP TABLE #hubsync_rows
;

-- sample: delete
DELETE b FROM [sales].[order lines]]] b JOIN OPENJSON(@P1) WITH (c0 nvarchar(max) '$.c0', c1 nvarchar(max) '$.c1') j ON b.[region] = j.c0 COLLATE Latin1_General_100_BIN2 AND b.[tag] = CONVERT(varbinary(max), j.c1, 2)
;

-- sample: lookup
SELECT CASE WHEN t.seq IS NULL THEN 0 ELSE 1 END, t.origin, t.changed_at, CASE WHEN b.[region] IS NULL THEN 0 ELSE 1 END, k.c0 COLLATE Latin1_General_100_BIN2, CONVERT(varbinary(max), k.c1, 2), b.[region], b.[tag], b.[line no], CAST(b.[price] AS decimal(19,4)), CAST(b.[placed] AS datetime2(3)), b.[at], b.[note] FROM OPENJSON(@P3) WITH (c0 nvarchar(max) '$.c0', c1 nvarchar(max) '$.c1') k LEFT JOIN [sales].[order lines]]] b ON b.[region] = k.c0 COLLATE Latin1_General_100_BIN2 AND b.[tag] = CONVERT(varbinary(max), k.c1, 2) LEFT JOIN [hubsync].[track_7] t ON t.[region] = k.c0 COLLATE Latin1_General_100_BIN2 AND t.[tag] = CONVERT(varbinary(max), k.c1, 2) AND (t.ver > CAST(@P1 AS binary(8)) OR (t.ver = CAST(@P1 AS binary(8)) AND t.seq > @P2))
;

-- sample: scan
SELECT TOP (@P1) b.[region], b.[tag], b.[region], b.[tag], b.[line no], CAST(b.[price] AS decimal(19,4)), CAST(b.[placed] AS datetime2(3)), b.[at], b.[note] FROM [sales].[order lines]]] b ORDER BY b.[region], b.[tag]
;
SELECT TOP (@P1) b.[region], b.[tag], b.[region], b.[tag], b.[line no], CAST(b.[price] AS decimal(19,4)), CAST(b.[placed] AS datetime2(3)), b.[at], b.[note] FROM [sales].[order lines]]] b CROSS JOIN OPENJSON(@P2) WITH (c0 nvarchar(max) '$.c0', c1 nvarchar(max) '$.c1') a WHERE (b.[region] > a.c0 COLLATE Latin1_General_100_BIN2) OR (b.[region] = a.c0 COLLATE Latin1_General_100_BIN2 AND b.[tag] > CONVERT(varbinary(max), a.c1, 2)) ORDER BY b.[region], b.[tag]
;

-- sample: purge
DELETE FROM [hubsync].[track_7] WHERE deleted = 1 AND (ver < CAST(@P1 AS binary(8)) OR (ver = CAST(@P1 AS binary(8)) AND seq <= @P2)) AND changed_at < @P3
;

-- sample: reannounce
UPDATE t SET seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN OPENJSON(@P1) WITH (c0 nvarchar(max) '$.c0', c1 nvarchar(max) '$.c1') k ON t.[region] = k.c0 COLLATE Latin1_General_100_BIN2 AND t.[tag] = CONVERT(varbinary(max), k.c1, 2)
;

-- sample: is_empty
SELECT CASE WHEN EXISTS (SELECT 1 FROM [sales].[order lines]]]) THEN 0 ELSE 1 END
;

-- sample: deprovision
DROP TRIGGER IF EXISTS [sales].[hubsync_capture_7]
;
DROP TABLE IF EXISTS [hubsync].[track_7]
;
DELETE FROM [hubsync].[tables] WHERE id = @P1
;

-- simple: provision (new)
IF OBJECT_ID(N'[hubsync].[track_7]') IS NULL BEGIN CREATE TABLE [hubsync].[track_7] ([id] bigint NOT NULL, ver rowversion NOT NULL, seq bigint NOT NULL, deleted bit NOT NULL, origin nvarchar(400) NULL, changed_at bigint NOT NULL, PRIMARY KEY ([id])); CREATE INDEX [track_7_order] ON [hubsync].[track_7] (ver, seq) END
;
DROP TRIGGER IF EXISTS [dbo].[hubsync_capture_7]
;
CREATE TRIGGER [dbo].[hubsync_capture_7] ON [dbo].[orders] AFTER INSERT, UPDATE, DELETE AS
BEGIN
SET NOCOUNT ON;
IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
DECLARE @o nvarchar(400) = CAST(SESSION_CONTEXT(N'hubsync.origin') AS nvarchar(400));
DECLARE @at bigint = DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME());
UPDATE t SET deleted = 1, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN deleted d ON t.[id] = d.[id] WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[id] = d.[id]);
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at) SELECT d.[id], NEXT VALUE FOR [hubsync].[seq], 1, @o, @at FROM deleted d WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[id] = d.[id]) AND NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = d.[id]);
UPDATE t SET deleted = 0, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN inserted i ON t.[id] = i.[id];
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at) SELECT i.[id], NEXT VALUE FOR [hubsync].[seq], 0, @o, @at FROM inserted i WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = i.[id]);
END
;
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at) SELECT b.[id], NEXT VALUE FOR [hubsync].[seq], 0, NULL, DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME()) FROM [dbo].[orders] b WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = b.[id])
;

-- simple: provision (key changed)
DROP TABLE IF EXISTS [hubsync].[track_7]
;
IF OBJECT_ID(N'[hubsync].[track_7]') IS NULL BEGIN CREATE TABLE [hubsync].[track_7] ([id] bigint NOT NULL, ver rowversion NOT NULL, seq bigint NOT NULL, deleted bit NOT NULL, origin nvarchar(400) NULL, changed_at bigint NOT NULL, PRIMARY KEY ([id])); CREATE INDEX [track_7_order] ON [hubsync].[track_7] (ver, seq) END
;
DROP TRIGGER IF EXISTS [dbo].[hubsync_capture_7]
;
CREATE TRIGGER [dbo].[hubsync_capture_7] ON [dbo].[orders] AFTER INSERT, UPDATE, DELETE AS
BEGIN
SET NOCOUNT ON;
IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
DECLARE @o nvarchar(400) = CAST(SESSION_CONTEXT(N'hubsync.origin') AS nvarchar(400));
DECLARE @at bigint = DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME());
UPDATE t SET deleted = 1, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN deleted d ON t.[id] = d.[id] WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[id] = d.[id]);
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at) SELECT d.[id], NEXT VALUE FOR [hubsync].[seq], 1, @o, @at FROM deleted d WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[id] = d.[id]) AND NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = d.[id]);
UPDATE t SET deleted = 0, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN inserted i ON t.[id] = i.[id];
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at) SELECT i.[id], NEXT VALUE FOR [hubsync].[seq], 0, @o, @at FROM inserted i WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = i.[id]);
END
;
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at) SELECT b.[id], NEXT VALUE FOR [hubsync].[seq], 0, NULL, DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME()) FROM [dbo].[orders] b WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = b.[id])
;

-- simple: provision (columns changed)
IF OBJECT_ID(N'[hubsync].[track_7]') IS NULL BEGIN CREATE TABLE [hubsync].[track_7] ([id] bigint NOT NULL, ver rowversion NOT NULL, seq bigint NOT NULL, deleted bit NOT NULL, origin nvarchar(400) NULL, changed_at bigint NOT NULL, PRIMARY KEY ([id])); CREATE INDEX [track_7_order] ON [hubsync].[track_7] (ver, seq) END
;
DROP TRIGGER IF EXISTS [dbo].[hubsync_capture_7]
;
CREATE TRIGGER [dbo].[hubsync_capture_7] ON [dbo].[orders] AFTER INSERT, UPDATE, DELETE AS
BEGIN
SET NOCOUNT ON;
IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
DECLARE @o nvarchar(400) = CAST(SESSION_CONTEXT(N'hubsync.origin') AS nvarchar(400));
DECLARE @at bigint = DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME());
UPDATE t SET deleted = 1, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN deleted d ON t.[id] = d.[id] WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[id] = d.[id]);
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at) SELECT d.[id], NEXT VALUE FOR [hubsync].[seq], 1, @o, @at FROM deleted d WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[id] = d.[id]) AND NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = d.[id]);
UPDATE t SET deleted = 0, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN inserted i ON t.[id] = i.[id];
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at) SELECT i.[id], NEXT VALUE FOR [hubsync].[seq], 0, @o, @at FROM inserted i WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = i.[id]);
END
;
UPDATE [hubsync].[track_7] SET seq = NEXT VALUE FOR [hubsync].[seq] WHERE deleted = 0
;
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at) SELECT b.[id], NEXT VALUE FOR [hubsync].[seq], 0, NULL, DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME()) FROM [dbo].[orders] b WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = b.[id])
;

-- simple: read_changes
DECLARE @bound binary(8) = MIN_ACTIVE_ROWVERSION();
SELECT TOP (@P3) CAST(t.ver AS bigint), t.seq, CASE WHEN t.deleted = 1 OR b.[id] IS NULL THEN 1 ELSE 0 END, t.origin, t.changed_at, t.[id], b.[id], b.[amount] FROM [hubsync].[track_7] t LEFT JOIN [dbo].[orders] b ON b.[id] = t.[id] WHERE (t.ver > CAST(@P1 AS binary(8)) OR (t.ver = CAST(@P1 AS binary(8)) AND t.seq > @P2)) AND t.ver < @bound ORDER BY t.ver, t.seq;
SELECT CASE WHEN EXISTS (SELECT 1 FROM [hubsync].[track_7] WHERE ver >= @bound) THEN 1 ELSE 0 END
;

-- simple: upsert
CREATE TABLE #hubsync_rows (c0 bigint NULL, c1 nvarchar(100) NULL)
;
UPDATE b SET [amount] = CAST(r.c1 AS decimal(38,2)) FROM [dbo].[orders] b JOIN #hubsync_rows r ON b.[id] = r.c0;
INSERT INTO [dbo].[orders] ([id], [amount]) SELECT r.c0, CAST(r.c1 AS decimal(38,2)) FROM #hubsync_rows r WHERE NOT EXISTS (SELECT 1 FROM [dbo].[orders] b WHERE b.[id] = r.c0);
DROP TABLE #hubsync_rows
;

-- simple: delete
DELETE b FROM [dbo].[orders] b JOIN OPENJSON(@P1) WITH (c0 bigint '$.c0') j ON b.[id] = j.c0
;

-- simple: lookup
SELECT CASE WHEN t.seq IS NULL THEN 0 ELSE 1 END, t.origin, t.changed_at, CASE WHEN b.[id] IS NULL THEN 0 ELSE 1 END, k.c0, b.[id], b.[amount] FROM OPENJSON(@P3) WITH (c0 bigint '$.c0') k LEFT JOIN [dbo].[orders] b ON b.[id] = k.c0 LEFT JOIN [hubsync].[track_7] t ON t.[id] = k.c0 AND (t.ver > CAST(@P1 AS binary(8)) OR (t.ver = CAST(@P1 AS binary(8)) AND t.seq > @P2))
;

-- simple: scan
SELECT TOP (@P1) b.[id], b.[id], b.[amount] FROM [dbo].[orders] b ORDER BY b.[id]
;
SELECT TOP (@P1) b.[id], b.[id], b.[amount] FROM [dbo].[orders] b CROSS JOIN OPENJSON(@P2) WITH (c0 bigint '$.c0') a WHERE (b.[id] > a.c0) ORDER BY b.[id]
;

-- simple: purge
DELETE FROM [hubsync].[track_7] WHERE deleted = 1 AND (ver < CAST(@P1 AS binary(8)) OR (ver = CAST(@P1 AS binary(8)) AND seq <= @P2)) AND changed_at < @P3
;

-- simple: reannounce
UPDATE t SET seq = NEXT VALUE FOR [hubsync].[seq] FROM [hubsync].[track_7] t JOIN OPENJSON(@P1) WITH (c0 bigint '$.c0') k ON t.[id] = k.c0
;

-- simple: is_empty
SELECT CASE WHEN EXISTS (SELECT 1 FROM [dbo].[orders]) THEN 0 ELSE 1 END
;

-- simple: deprovision
DROP TRIGGER IF EXISTS [dbo].[hubsync_capture_7]
;
DROP TABLE IF EXISTS [hubsync].[track_7]
;
DELETE FROM [hubsync].[tables] WHERE id = @P1
;

-- create_table
IF SCHEMA_ID(N'sales') IS NULL EXEC(N'CREATE SCHEMA [sales]')
;
IF OBJECT_ID(N'[sales].[order lines]]]', N'U') IS NULL CREATE TABLE [sales].[order lines]]] ([region] nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL, [n] bigint NULL, PRIMARY KEY ([region]))
;
IF NOT EXISTS (SELECT 1 FROM sys.extended_properties WHERE class = 1 AND major_id = OBJECT_ID(N'[sales].[order lines]]]') AND minor_id = COLUMNPROPERTY(OBJECT_ID(N'[sales].[order lines]]]'), N'doc', 'ColumnId') AND name = N'hubsync') EXEC sp_addextendedproperty @name = N'hubsync', @value = N'json', @level0type = N'SCHEMA', @level0name = N'sales', @level1type = N'TABLE', @level1name = N'order lines]', @level2type = N'COLUMN', @level2name = N'doc'
;
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'[sales].[order lines]]]') AND name = N'by n') CREATE INDEX [by n] ON [sales].[order lines]]] ([n])
;
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'[sales].[order lines]]]') AND name = N'u') CREATE UNIQUE INDEX [u] ON [sales].[order lines]]] ([n], [region])
;

-- deprovision_all
SELECT s.name, tr.name FROM sys.triggers tr JOIN sys.objects o ON o.object_id = tr.parent_id JOIN sys.schemas s ON s.schema_id = o.schema_id WHERE tr.name LIKE N'hubsync\_capture\_%' ESCAPE N'\'
;
SELECT name FROM sys.tables WHERE schema_id = SCHEMA_ID(N'hubsync')
;
IF OBJECT_ID(N'[hubsync].[seq]') IS NOT NULL DROP SEQUENCE [hubsync].[seq]
;
IF SCHEMA_ID(N'hubsync') IS NOT NULL DROP SCHEMA [hubsync]
;

-- introspection
SELECT CAST(s.name AS nvarchar(128)), CAST(t.name AS nvarchar(128)), CAST(c.name AS nvarchar(128)), CAST(ty.name AS nvarchar(128)), CAST(COALESCE(bt.name, ty.name) AS nvarchar(128)), CAST(c.max_length AS int), CAST(c.precision AS int), CAST(c.scale AS int), CAST(c.is_nullable AS int), CAST(c.is_identity AS int), CAST(c.is_computed AS int), CAST(c.collation_name AS nvarchar(128)), (SELECT TOP 1 CAST(ep.value AS nvarchar(40)) FROM sys.extended_properties ep WHERE ep.class = 1 AND ep.major_id = c.object_id AND ep.minor_id = c.column_id AND ep.name = N'hubsync') FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id JOIN sys.columns c ON c.object_id = t.object_id JOIN sys.types ty ON ty.user_type_id = c.user_type_id LEFT JOIN sys.types bt ON bt.user_type_id = ty.system_type_id AND ty.is_user_defined = 1 WHERE s.name NOT IN (N'hubsync', N'DataSync') AND t.is_ms_shipped = 0 ORDER BY 1, 2, c.column_id
;
SELECT CAST(s.name AS nvarchar(128)), CAST(t.name AS nvarchar(128)), CAST(i.name AS nvarchar(128)), CAST(i.is_primary_key AS int), CAST(i.is_unique AS int), CAST(c.name AS nvarchar(128)) FROM sys.indexes i JOIN sys.tables t ON t.object_id = i.object_id JOIN sys.schemas s ON s.schema_id = t.schema_id JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id WHERE s.name NOT IN (N'hubsync', N'DataSync') AND i.type > 0 AND i.has_filter = 0 AND ic.is_included_column = 0 ORDER BY 1, 2, 3, ic.key_ordinal
;
SELECT CAST(s.name AS nvarchar(128)), CAST(t.name AS nvarchar(128)), CAST(fk.name AS nvarchar(128)), CAST(rs.name AS nvarchar(128)), CAST(rt.name AS nvarchar(128)), CAST(c.name AS nvarchar(128)) FROM sys.foreign_keys fk JOIN sys.tables t ON t.object_id = fk.parent_object_id JOIN sys.schemas s ON s.schema_id = t.schema_id JOIN sys.tables rt ON rt.object_id = fk.referenced_object_id JOIN sys.schemas rs ON rs.schema_id = rt.schema_id JOIN sys.foreign_key_columns fc ON fc.constraint_object_id = fk.object_id JOIN sys.columns c ON c.object_id = fc.parent_object_id AND c.column_id = fc.parent_column_id WHERE s.name NOT IN (N'hubsync', N'DataSync') ORDER BY 1, 2, 3, fc.constraint_column_id
;

-- pending
SELECT COUNT(*) FROM (SELECT TOP (@P3) 1 AS one FROM [hubsync].[track_7] t WHERE (t.ver > CAST(@P1 AS binary(8)) OR (t.ver = CAST(@P1 AS binary(8)) AND t.seq > @P2))) c
;

-- watch_poll
SELECT 0, (SELECT COALESCE(CAST(m.ver AS bigint), 0) FROM (SELECT MAX(ver) AS ver FROM [hubsync].[track_7]) m), CASE WHEN EXISTS (SELECT 1 FROM [hubsync].[track_7] t WHERE t.ver > CAST(CAST(0 AS bigint) AS binary(8)) AND (t.origin IS NULL OR LEFT(t.origin, LEN(@P1)) <> @P1)) THEN 1 ELSE 0 END UNION ALL SELECT 1, (SELECT COALESCE(CAST(m.ver AS bigint), 0) FROM (SELECT MAX(ver) AS ver FROM [hubsync].[track_8]) m), CASE WHEN EXISTS (SELECT 1 FROM [hubsync].[track_8] t WHERE t.ver > CAST(CAST(42 AS bigint) AS binary(8)) AND (t.origin IS NULL OR LEFT(t.origin, LEN(@P1)) <> @P1)) THEN 1 ELSE 0 END
;

