-- Actions of a BackupSchedule: take a backup now (the trigger annotation, which the operator
-- answers with one Backup per new value, suspended or not), suspend and resume.
local actions = {}
local suspended = obj.spec ~= nil and obj.spec.suspend == true
actions["backup-now"] = {["disabled"] = false, ["displayName"] = "Back up now"}
actions["suspend"] = {["disabled"] = suspended}
actions["resume"] = {["disabled"] = not suspended}
return actions
