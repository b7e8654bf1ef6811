from twisted.application.service import ServiceMaker

kapacitord = ServiceMaker(
    "kapacitord-tw",
    "kapacitord_tw.tap",
    "Kapacitor's daemon with internal authorizations (kapacitord-tw)",
    "kapacitord",
)
