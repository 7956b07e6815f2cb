package backend

// MigrateOptions tune a migration.
type MigrateOptions struct {
	// DryRun reports what would be migrated and changes nothing.
	DryRun bool
}

// MigrationReport says what a migration did or, in a dry run, would do.
type MigrationReport struct {
	// Store describes the store (its password redacted).
	Store string
	// Version is the store's data-model version before the migration (0:
	// none recorded, the store holds no joblot data yet: nothing to do, as
	// the first write records DataModelVersion).
	Version int
	// Current is the version this code writes (DataModelVersion).
	Current int
	// Steps are the steps run or, in a dry run, to run, oldest first, as
	// "<from> → <to>: <summary>". Empty when the store is up to date.
	Steps []string
	// DryRun is MigrateOptions.DryRun.
	DryRun bool
	// Applied is true when steps ran and the store is now at Current.
	Applied bool
}
