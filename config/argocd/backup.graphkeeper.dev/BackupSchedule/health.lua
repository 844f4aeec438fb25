-- Health of a BackupSchedule (backup.graphkeeper.dev/v1alpha1) from the conditions its operator
-- writes: Ready says the schedule itself is valid and running; LastBackupSucceeded says how its
-- newest finished Backup ended, so a schedule whose backups fail is Degraded even while it keeps
-- taking slots. A suspended schedule is Healthy, not Suspended: Argo CD would show the whole
-- Application as suspended. Uses only the base and table libraries, so it runs as an argocd-cm
-- customization and as a built-in script alike.
local hs = {}
local function condition(type)
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == type then
        return c
      end
    end
  end
  return nil
end
local ready = condition("Ready")
if ready == nil or (obj.metadata.generation ~= nil and ready.observedGeneration ~= obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the BackupSchedule"
  return hs
end
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. (stalled.message or "")
  return hs
end
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Healthy"
  hs.message = "Suspended: no new backups are taken"
  return hs
end
local last = condition("LastBackupSucceeded")
if last ~= nil and last.status == "False" and last.reason ~= "NoBackupYet" then
  hs.status = "Degraded"
  hs.message = "Last backup " .. last.reason .. ": " .. (last.message or "")
  return hs
end
if ready.status ~= "True" then
  hs.status = "Progressing"
  hs.message = ready.reason .. ": " .. (ready.message or "")
  return hs
end
hs.status = "Healthy"
if last ~= nil and last.status == "True" then
  hs.message = "Last backup succeeded: " .. (last.message or "")
else
  hs.message = ready.reason .. ": " .. (ready.message or "")
end
return hs
