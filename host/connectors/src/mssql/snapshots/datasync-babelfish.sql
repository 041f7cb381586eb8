-- reading
SELECT CASE WHEN SCHEMA_ID(N'DataSync') IS NULL THEN 0 ELSE 1 END
;
IF OBJECT_ID(N'[DataSync].[scope_info_dss]') IS NOT NULL AND OBJECT_ID(N'[DataSync].[scope_config_dss]') IS NOT NULL SELECT CAST(si.scope_local_id AS bigint), CAST(si.sync_scope_name AS nvarchar(100)), LOWER(CAST(si.scope_config_id AS nvarchar(36))), CAST(sc.config_data AS nvarchar(max)), CAST(sc.scope_status AS nvarchar(10)) FROM [DataSync].[scope_info_dss] si LEFT JOIN [DataSync].[scope_config_dss] sc ON sc.config_id = si.scope_config_id ORDER BY 1
;
SELECT CAST(o.name AS nvarchar(256)), CAST(RTRIM(o.type) AS nvarchar(4)) FROM sys.objects o WHERE o.schema_id = SCHEMA_ID(N'DataSync') AND o.type IN ('U', 'P') UNION ALL SELECT CAST(t.name AS nvarchar(256)), CAST(N'TT' AS nvarchar(4)) FROM sys.types t WHERE t.is_user_defined = 1 AND t.schema_id = SCHEMA_ID(N'DataSync') ORDER BY 1
;
SELECT CAST(s.name AS nvarchar(128)), CAST(tr.name AS nvarchar(256)), CAST(o.name AS nvarchar(128)), CAST(tr.is_disabled AS int), CAST(tr.parent_id AS bigint), CAST(OBJECT_DEFINITION(tr.object_id) AS nvarchar(max)) FROM sys.triggers tr JOIN sys.objects o ON o.object_id = tr.parent_id JOIN sys.schemas s ON s.schema_id = o.schema_id WHERE tr.name LIKE N'%[_]dss[_]insert[_]trigger' OR tr.name LIKE N'%[_]dss[_]update[_]trigger' OR tr.name LIKE N'%[_]dss[_]delete[_]trigger' ORDER BY 1, 2
;
SELECT CAST(s.name AS nvarchar(128)), CAST(t.name AS nvarchar(128)), CAST(t.object_id AS bigint) FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id WHERE s.name NOT IN (N'DataSync', N'hubsync') AND t.is_ms_shipped = 0
;
IF OBJECT_ID(N'[DataSync].[provision_marker_dss]') IS NOT NULL SELECT CAST(object_id AS bigint), CAST(owner_scope_local_id AS bigint) FROM [DataSync].[provision_marker_dss]
;

-- tracking counts
SELECT CAST(COUNT(*) AS bigint), CAST(COALESCE(SUM(CASE WHEN sync_row_is_tombstone = 1 THEN 1 ELSE 0 END), 0) AS bigint), CAST(COALESCE(SUM(CASE WHEN update_scope_local_id IS NULL THEN 1 ELSE 0 END), 0) AS bigint), CAST(SUM(CASE WHEN update_scope_local_id IS NULL AND last_change_datetime >= DATEADD(minute, DATEDIFF(minute, GETUTCDATE(), GETDATE()), CAST(N'2026-12-03T10:00:00' AS datetime2)) THEN 1 ELSE 0 END) AS bigint), CASE WHEN COL_LENGTH(N'[DataSync].[Customer_dss_tracking]', N'restore_timestamp') IS NULL THEN 0 ELSE 1 END FROM [DataSync].[Customer_dss_tracking]
;

-- takeover record
IF OBJECT_ID(N'[hubsync].[adopted]') IS NULL CREATE TABLE [hubsync].[adopted] (id bigint NOT NULL PRIMARY KEY, anchor nvarchar(100) NOT NULL, adopted_at bigint NOT NULL)
;
SELECT anchor FROM [hubsync].[adopted] WHERE id = @P1
;
INSERT INTO [hubsync].[adopted] (id, anchor, adopted_at) VALUES (@P1, @P2, @P3)
;

-- takeover, hub: sample
IF OBJECT_ID(N'[hubsync].[track_7]') IS NULL BEGIN CREATE TABLE [hubsync].[track_7] ([region] nvarchar(32) COLLATE Latin1_General_100_BIN2 NOT NULL, [tag] varbinary(16) NOT NULL, ver bigint NOT NULL, seq bigint NOT NULL, deleted bit NOT NULL, origin nvarchar(400) NULL, changed_at bigint NOT NULL, PRIMARY KEY ([region], [tag])); CREATE INDEX [track_7_order] ON [hubsync].[track_7] (ver, seq) END
;
DROP TRIGGER IF EXISTS [sales].[hubsync_capture_7]
;
CREATE TRIGGER [sales].[hubsync_capture_7] ON [sales].[order lines]]] AFTER INSERT, UPDATE, DELETE AS
BEGIN
SET NOCOUNT ON;
IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
DECLARE @o nvarchar(400) = CAST(SESSION_CONTEXT(N'hubsync.origin') AS nvarchar(400));
DECLARE @at bigint = DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME());
UPDATE t SET deleted = 1, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq], ver = CAST(txid_current() AS bigint) FROM [hubsync].[track_7] t JOIN deleted d ON t.[region] = d.[region] AND t.[tag] = d.[tag] WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]);
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at, ver) SELECT d.[region], d.[tag], NEXT VALUE FOR [hubsync].[seq], 1, @o, @at, CAST(txid_current() AS bigint) FROM deleted d WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]) AND NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag]);
UPDATE t SET deleted = 0, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq], ver = CAST(txid_current() AS bigint) FROM [hubsync].[track_7] t JOIN inserted i ON t.[region] = i.[region] AND t.[tag] = i.[tag];
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at, ver) SELECT i.[region], i.[tag], NEXT VALUE FOR [hubsync].[seq], 0, @o, @at, CAST(txid_current() AS bigint) FROM inserted i WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = i.[region] AND x.[tag] = i.[tag]);
END
;
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at, ver) SELECT b.[region], b.[tag], NEXT VALUE FOR [hubsync].[seq], 0, NULL, DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME()), CAST(txid_current() AS bigint) FROM [sales].[order lines]]] b WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = b.[region] AND x.[tag] = b.[tag])
;
DROP TRIGGER [dbo].[orders_dss_insert_trigger]
;
DROP TRIGGER [dbo].[orders_dss_update_trigger]
;
SELECT TOP 1 ver, seq FROM [hubsync].[track_7] ORDER BY ver DESC, seq DESC
;
UPDATE t SET seq = NEXT VALUE FOR [hubsync].[seq], ver = CAST(txid_current() AS bigint), deleted = 0, origin = CASE d.update_scope_local_id WHEN 1 THEN N'g/m1@k2' WHEN 2 THEN N'g/m''2' ELSE NULL END, changed_at = COALESCE(DATEDIFF_BIG(microsecond, '19700101', DATEADD(minute, DATEDIFF(minute, GETDATE(), GETUTCDATE()), d.last_change_datetime)), DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME())) FROM [hubsync].[track_7] t JOIN [DataSync].[orders_dss_tracking] d ON t.[region] = d.[region] AND t.[tag] = d.[tag] WHERE d.last_change_datetime >= DATEADD(minute, DATEDIFF(minute, GETUTCDATE(), GETDATE()), CAST(N'2026-12-03T10:00:00' AS datetime2))
;
INSERT INTO [hubsync].[track_7] ([region], [tag], seq, deleted, origin, changed_at, ver) SELECT d.[region], d.[tag], NEXT VALUE FOR [hubsync].[seq], 1, CASE d.update_scope_local_id WHEN 1 THEN N'g/m1@k2' WHEN 2 THEN N'g/m''2' ELSE NULL END, COALESCE(DATEDIFF_BIG(microsecond, '19700101', DATEADD(minute, DATEDIFF(minute, GETDATE(), GETUTCDATE()), d.last_change_datetime)), DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME())), CAST(txid_current() AS bigint) FROM [DataSync].[orders_dss_tracking] d WHERE d.last_change_datetime >= DATEADD(minute, DATEDIFF(minute, GETUTCDATE(), GETDATE()), CAST(N'2026-12-03T10:00:00' AS datetime2)) AND NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[region] = d.[region] AND x.[tag] = d.[tag])
;

-- takeover, member: simple
IF OBJECT_ID(N'[hubsync].[track_7]') IS NULL BEGIN CREATE TABLE [hubsync].[track_7] ([id] bigint NOT NULL, ver bigint NOT NULL, seq bigint NOT NULL, deleted bit NOT NULL, origin nvarchar(400) NULL, changed_at bigint NOT NULL, PRIMARY KEY ([id])); CREATE INDEX [track_7_order] ON [hubsync].[track_7] (ver, seq) END
;
DROP TRIGGER IF EXISTS [dbo].[hubsync_capture_7]
;
CREATE TRIGGER [dbo].[hubsync_capture_7] ON [dbo].[orders] AFTER INSERT, UPDATE, DELETE AS
BEGIN
SET NOCOUNT ON;
IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
DECLARE @o nvarchar(400) = CAST(SESSION_CONTEXT(N'hubsync.origin') AS nvarchar(400));
DECLARE @at bigint = DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME());
UPDATE t SET deleted = 1, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq], ver = CAST(txid_current() AS bigint) FROM [hubsync].[track_7] t JOIN deleted d ON t.[id] = d.[id] WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[id] = d.[id]);
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at, ver) SELECT d.[id], NEXT VALUE FOR [hubsync].[seq], 1, @o, @at, CAST(txid_current() AS bigint) FROM deleted d WHERE NOT EXISTS (SELECT 1 FROM inserted x WHERE x.[id] = d.[id]) AND NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = d.[id]);
UPDATE t SET deleted = 0, origin = @o, changed_at = @at, seq = NEXT VALUE FOR [hubsync].[seq], ver = CAST(txid_current() AS bigint) FROM [hubsync].[track_7] t JOIN inserted i ON t.[id] = i.[id];
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at, ver) SELECT i.[id], NEXT VALUE FOR [hubsync].[seq], 0, @o, @at, CAST(txid_current() AS bigint) FROM inserted i WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = i.[id]);
END
;
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at, ver) SELECT b.[id], NEXT VALUE FOR [hubsync].[seq], 0, NULL, DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME()), CAST(txid_current() AS bigint) FROM [dbo].[orders] b WHERE NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = b.[id])
;
DROP TRIGGER [dbo].[orders_dss_insert_trigger]
;
DROP TRIGGER [dbo].[orders_dss_update_trigger]
;
SELECT TOP 1 ver, seq FROM [hubsync].[track_7] ORDER BY ver DESC, seq DESC
;
UPDATE t SET seq = NEXT VALUE FOR [hubsync].[seq], ver = CAST(txid_current() AS bigint), deleted = 0, origin = CAST(NULL AS nvarchar(400)), changed_at = COALESCE(DATEDIFF_BIG(microsecond, '19700101', DATEADD(minute, DATEDIFF(minute, GETDATE(), GETUTCDATE()), d.last_change_datetime)), DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME())) FROM [hubsync].[track_7] t JOIN [DataSync].[orders_dss_tracking] d ON t.[id] = d.[id] WHERE d.last_change_datetime >= DATEADD(minute, DATEDIFF(minute, GETUTCDATE(), GETDATE()), CAST(N'2026-12-03T10:00:00.250' AS datetime2)) AND (d.update_scope_local_id IS NULL OR d.update_scope_local_id NOT IN (3))
;
INSERT INTO [hubsync].[track_7] ([id], seq, deleted, origin, changed_at, ver) SELECT d.[id], NEXT VALUE FOR [hubsync].[seq], 1, CAST(NULL AS nvarchar(400)), COALESCE(DATEDIFF_BIG(microsecond, '19700101', DATEADD(minute, DATEDIFF(minute, GETDATE(), GETUTCDATE()), d.last_change_datetime)), DATEDIFF_BIG(microsecond, '19700101', SYSUTCDATETIME())), CAST(txid_current() AS bigint) FROM [DataSync].[orders_dss_tracking] d WHERE d.last_change_datetime >= DATEADD(minute, DATEDIFF(minute, GETUTCDATE(), GETDATE()), CAST(N'2026-12-03T10:00:00.250' AS datetime2)) AND (d.update_scope_local_id IS NULL OR d.update_scope_local_id NOT IN (3)) AND NOT EXISTS (SELECT 1 FROM [hubsync].[track_7] x WHERE x.[id] = d.[id])
;

-- remove scope 1 (live on: dbo.Customer, sales.Order)
DROP PROCEDURE [DataSync].[Customer_dss_bulkdelete_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_bulkinsert_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_bulkupdate_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_delete_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_insert_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_selectchanges_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_selectrow_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_update_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_bulkdelete_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_bulkinsert_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_bulkupdate_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_delete_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_insert_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_selectchanges_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_selectrow_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_update_11111111-1111-1111-1111-111111111111]
;
DROP TYPE [DataSync].[Customer_dss_BulkType_11111111-1111-1111-1111-111111111111]
;
DROP TYPE [DataSync].[Order_dss_BulkType_11111111-1111-1111-1111-111111111111]
;
DELETE FROM [DataSync].[provision_marker_dss] WHERE owner_scope_local_id = 1
;
DELETE FROM [DataSync].[scope_info_dss] WHERE scope_local_id = 1
;
DELETE FROM [DataSync].[scope_config_dss] WHERE config_id = N'c0nf1' AND NOT EXISTS (SELECT 1 FROM [DataSync].[scope_info_dss] WHERE scope_config_id = N'c0nf1')
;

-- remove everything, leftovers too
DROP TRIGGER [dbo].[Customer_dss_delete_trigger]
;
DROP TRIGGER [dbo].[Customer_dss_insert_trigger]
;
DROP TRIGGER [dbo].[Customer_dss_update_trigger]
;
DROP TRIGGER [dbo].[Gone_dss_insert_trigger]
;
DROP TRIGGER [sales].[Order_dss_delete_trigger]
;
DROP TRIGGER [sales].[Order_dss_insert_trigger]
;
DROP TRIGGER [sales].[Order_dss_update_trigger]
;
DROP PROCEDURE [DataSync].[Customer_dss_bulkdelete_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_bulkdelete_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Customer_dss_bulkinsert_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_bulkinsert_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Customer_dss_bulkupdate_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_bulkupdate_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Customer_dss_delete_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_delete_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Customer_dss_deletemetadata]
;
DROP PROCEDURE [DataSync].[Customer_dss_insert_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_insert_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Customer_dss_insertmetadata]
;
DROP PROCEDURE [DataSync].[Customer_dss_selectchanges_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_selectchanges_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Customer_dss_selectrow_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_selectrow_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Customer_dss_update_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Customer_dss_update_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Customer_dss_updatemetadata]
;
DROP PROCEDURE [DataSync].[Gone_dss_selectchanges_x]
;
DROP PROCEDURE [DataSync].[Order_dss_bulkdelete_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_bulkdelete_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Order_dss_bulkinsert_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_bulkinsert_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Order_dss_bulkupdate_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_bulkupdate_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Order_dss_delete_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_delete_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Order_dss_deletemetadata]
;
DROP PROCEDURE [DataSync].[Order_dss_insert_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_insert_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Order_dss_insertmetadata]
;
DROP PROCEDURE [DataSync].[Order_dss_selectchanges_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_selectchanges_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Order_dss_selectrow_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_selectrow_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Order_dss_update_11111111-1111-1111-1111-111111111111]
;
DROP PROCEDURE [DataSync].[Order_dss_update_22222222-2222-2222-2222-222222222222]
;
DROP PROCEDURE [DataSync].[Order_dss_updatemetadata]
;
DROP TYPE [DataSync].[Customer_dss_BulkType_11111111-1111-1111-1111-111111111111]
;
DROP TYPE [DataSync].[Customer_dss_BulkType_22222222-2222-2222-2222-222222222222]
;
DROP TYPE [DataSync].[Order_dss_BulkType_11111111-1111-1111-1111-111111111111]
;
DROP TYPE [DataSync].[Order_dss_BulkType_22222222-2222-2222-2222-222222222222]
;
DROP TABLE [DataSync].[Customer_dss_tracking]
;
DROP TABLE [DataSync].[Order_dss_tracking]
;
DELETE FROM [DataSync].[provision_marker_dss] WHERE owner_scope_local_id = 1
;
DELETE FROM [DataSync].[scope_info_dss] WHERE scope_local_id = 1
;
DELETE FROM [DataSync].[scope_config_dss] WHERE config_id = N'c0nf1' AND NOT EXISTS (SELECT 1 FROM [DataSync].[scope_info_dss] WHERE scope_config_id = N'c0nf1')
;
DELETE FROM [DataSync].[provision_marker_dss] WHERE owner_scope_local_id = 2
;
DELETE FROM [DataSync].[scope_info_dss] WHERE scope_local_id = 2
;
DELETE FROM [DataSync].[scope_config_dss] WHERE config_id = N'c0nf2' AND NOT EXISTS (SELECT 1 FROM [DataSync].[scope_info_dss] WHERE scope_config_id = N'c0nf2')
;
DROP TABLE IF EXISTS [DataSync].[provision_marker_dss]
;
DROP TABLE IF EXISTS [DataSync].[scope_info_dss]
;
DROP TABLE IF EXISTS [DataSync].[scope_config_dss]
;
DROP TABLE IF EXISTS [DataSync].[schema_info_dss]
;
IF NOT EXISTS (SELECT 1 FROM sys.objects WHERE schema_id = SCHEMA_ID(N'DataSync') AND type IN ('U', 'P', 'V', 'FN', 'IF', 'TF', 'TR', 'SO')) AND NOT EXISTS (SELECT 1 FROM sys.types WHERE is_user_defined = 1 AND schema_id = SCHEMA_ID(N'DataSync')) EXEC(N'DROP SCHEMA [DataSync]')
;

