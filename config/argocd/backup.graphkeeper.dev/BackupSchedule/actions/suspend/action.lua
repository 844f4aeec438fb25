-- Suspend: no new slots are taken; running backups finish.
obj.spec.suspend = true
return obj
