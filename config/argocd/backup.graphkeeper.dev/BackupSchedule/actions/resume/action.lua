-- Resume: slots are taken again from the next one (slots passed while suspended are not).
obj.spec.suspend = false
return obj
