package probe

const abstractDefault = "@hcinit"
