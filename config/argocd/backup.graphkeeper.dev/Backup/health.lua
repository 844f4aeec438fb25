-- Health of a Backup (backup.graphkeeper.dev/v1alpha1) from the conditions its operator writes:
-- Ready summarises; Stalled (kstatus) is True when the backup ended badly or cannot go on. Each
-- condition carries the generation it describes. Uses only the base and table libraries, so it
-- runs as an argocd-cm customization and as a built-in script alike.
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
  hs.message = "Waiting for the operator to observe the Backup"
  return hs
end
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. (stalled.message or "")
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
else
  hs.status = "Progressing"
end
hs.message = ready.reason .. ": " .. (ready.message or "")
return hs
