-- Back up now: a new value of backup.graphkeeper.dev/trigger makes the operator take one Backup
-- outside the schedule (status.lastTrigger records the value it answered).
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["backup.graphkeeper.dev/trigger"] = os.date("!%Y-%m-%dT%XZ")
return obj
