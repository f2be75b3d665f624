/* org_regions.c -- the built-in regions "kanta-hame" and "lansi-uusimaa".
 *
 * Each region is an organisation file (docs/CONFIGURATION.md) kept here as
 * JSON text, one unit per line, so `tilannekuva` runs a demo or a synthetic
 * feed without any configuration. Municipality codes, names and populations
 * are real (Statistics Finland codes; end-2023 populations, rounded, from
 * DOMAIN.md Part A). Everything below the municipalities -- hospitals,
 * wards, bed counts, health stations, health-centre wards, service areas,
 * location codes -- is SYNTHETIC: sized to be plausible for the region, and
 * named "(synteettinen)" / "(syntetisk)" / "(synthetic)" at the level of the
 * hospital, health station and health-centre ward.
 *
 * Layout of both: county > service areas > municipalities > health stations
 * and health-centre wards; hospitals sit directly under the county (they
 * serve every area) with their emergency department ("ed") and wards. Each
 * region has one HL7 v2 ADT channel for the synthetic generator ("kh-adt",
 * "lu-adt"; MSH-3 "TKGEN", MSH-4 "KANTA-HAME" / "LANSI-UUSIMAA") mapping a
 * location code per ward and ED, and reading ready-for-transfer from ZTK-1
 * = "Y" (sent on A08).
 *
 * The JSON is written as C tokens and turned into a string literal by J()
 * (the preprocessor's # operator): it keeps the text readable and checked
 * by the loader's tests (tests/unit/test_org.c asserts the counts). No "??"
 * may appear in it (trigraphs). org_builtin_json is declared in org.h.
 *
 * Thread safety: constant data. */
#include "org.h"

#include <string.h>

#define J(...) #__VA_ARGS__

/* clang-format off */
static const char kanta_hame[] = J(
{"id": "kanta-hame", "name": {"fi": "Kanta-Hämeen hyvinvointialue", "sv": "Egentliga Tavastlands välfärdsområde", "en": "Kanta-Häme Wellbeing Services County"},
 "units": [
  {"id": "kh", "type": "county", "name": {"fi": "Kanta-Hämeen hyvinvointialue", "sv": "Egentliga Tavastlands välfärdsområde", "en": "Kanta-Häme Wellbeing Services County"}},
  {"id": "kh-a-hml", "type": "area", "parent": "kh", "name": {"fi": "Hämeenlinnan seudun palvelualue", "sv": "Tavastehusregionens serviceområde", "en": "Hämeenlinna region service area"}},
  {"id": "kh-109", "type": "municipality", "parent": "kh-a-hml", "municipality": "109", "population": 67800, "name": {"fi": "Hämeenlinna", "sv": "Tavastehus", "en": "Hämeenlinna"}},
  {"id": "kh-ts-hml-keskusta", "type": "health_station", "parent": "kh-109", "name": {"fi": "Hämeenlinnan keskustan terveysasema (synteettinen)", "sv": "Tavastehus centrums hälsostation (syntetisk)", "en": "Hämeenlinna Centre Health Station (synthetic)"}},
  {"id": "kh-ts-lammi", "type": "health_station", "parent": "kh-109", "name": {"fi": "Lammin terveysasema (synteettinen)", "sv": "Lammi hälsostation (syntetisk)", "en": "Lammi Health Station (synthetic)"}},
  {"id": "kh-ts-hauho", "type": "health_station", "parent": "kh-109", "name": {"fi": "Hauhon terveysasema (synteettinen)", "sv": "Hauho hälsostation (syntetisk)", "en": "Hauho Health Station (synthetic)"}},
  {"id": "kh-ts-kalvola", "type": "health_station", "parent": "kh-109", "name": {"fi": "Kalvolan terveysasema (synteettinen)", "sv": "Kalvola hälsostation (syntetisk)", "en": "Kalvola Health Station (synthetic)"}},
  {"id": "kh-tk-hml1", "type": "ward", "parent": "kh-109", "ward_type": "health_centre", "beds": 28, "name": {"fi": "Hämeenlinnan terveyskeskuksen vuodeosasto 1 (synteettinen)", "sv": "Tavastehus hälsocentrals bäddavdelning 1 (syntetisk)", "en": "Hämeenlinna health centre ward 1 (synthetic)"}},
  {"id": "kh-tk-hml2", "type": "ward", "parent": "kh-109", "ward_type": "health_centre", "beds": 28, "name": {"fi": "Hämeenlinnan terveyskeskuksen vuodeosasto 2 (synteettinen)", "sv": "Tavastehus hälsocentrals bäddavdelning 2 (syntetisk)", "en": "Hämeenlinna health centre ward 2 (synthetic)"}},
  {"id": "kh-082", "type": "municipality", "parent": "kh-a-hml", "municipality": "082", "population": 9500, "name": {"fi": "Hattula", "sv": "Hattula", "en": "Hattula"}},
  {"id": "kh-ts-parola", "type": "health_station", "parent": "kh-082", "name": {"fi": "Parolan terveysasema (synteettinen)", "sv": "Parola hälsostation (syntetisk)", "en": "Parola Health Station (synthetic)"}},
  {"id": "kh-165", "type": "municipality", "parent": "kh-a-hml", "municipality": "165", "population": 16000, "name": {"fi": "Janakkala", "sv": "Janakkala", "en": "Janakkala"}},
  {"id": "kh-ts-turenki", "type": "health_station", "parent": "kh-165", "name": {"fi": "Turengin terveysasema (synteettinen)", "sv": "Turenki hälsostation (syntetisk)", "en": "Turenki Health Station (synthetic)"}},
  {"id": "kh-ts-tervakoski", "type": "health_station", "parent": "kh-165", "name": {"fi": "Tervakosken terveysasema (synteettinen)", "sv": "Tervakoski hälsostation (syntetisk)", "en": "Tervakoski Health Station (synthetic)"}},
  {"id": "kh-tk-janakkala", "type": "ward", "parent": "kh-165", "ward_type": "health_centre", "beds": 20, "name": {"fi": "Janakkalan terveyskeskuksen vuodeosasto (synteettinen)", "sv": "Janakkala hälsocentrals bäddavdelning (syntetisk)", "en": "Janakkala health centre ward (synthetic)"}},
  {"id": "kh-a-rmk", "type": "area", "parent": "kh", "name": {"fi": "Riihimäen seudun palvelualue", "sv": "Riihimäkiregionens serviceområde", "en": "Riihimäki region service area"}},
  {"id": "kh-694", "type": "municipality", "parent": "kh-a-rmk", "municipality": "694", "population": 28700, "name": {"fi": "Riihimäki", "sv": "Riihimäki", "en": "Riihimäki"}},
  {"id": "kh-ts-rmk-keskusta", "type": "health_station", "parent": "kh-694", "name": {"fi": "Riihimäen keskustan terveysasema (synteettinen)", "sv": "Riihimäki centrums hälsostation (syntetisk)", "en": "Riihimäki Centre Health Station (synthetic)"}},
  {"id": "kh-ts-peltosaari", "type": "health_station", "parent": "kh-694", "name": {"fi": "Peltosaaren terveysasema (synteettinen)", "sv": "Peltosaari hälsostation (syntetisk)", "en": "Peltosaari Health Station (synthetic)"}},
  {"id": "kh-tk-riihimaki", "type": "ward", "parent": "kh-694", "ward_type": "health_centre", "beds": 30, "name": {"fi": "Riihimäen terveyskeskuksen vuodeosasto (synteettinen)", "sv": "Riihimäki hälsocentrals bäddavdelning (syntetisk)", "en": "Riihimäki health centre ward (synthetic)"}},
  {"id": "kh-086", "type": "municipality", "parent": "kh-a-rmk", "municipality": "086", "population": 8100, "name": {"fi": "Hausjärvi", "sv": "Hausjärvi", "en": "Hausjärvi"}},
  {"id": "kh-ts-oitti", "type": "health_station", "parent": "kh-086", "name": {"fi": "Oitin terveysasema (synteettinen)", "sv": "Oitti hälsostation (syntetisk)", "en": "Oitti Health Station (synthetic)"}},
  {"id": "kh-433", "type": "municipality", "parent": "kh-a-rmk", "municipality": "433", "population": 7900, "name": {"fi": "Loppi", "sv": "Loppis", "en": "Loppi"}},
  {"id": "kh-ts-loppi", "type": "health_station", "parent": "kh-433", "name": {"fi": "Lopen terveysasema (synteettinen)", "sv": "Loppis hälsostation (syntetisk)", "en": "Loppi Health Station (synthetic)"}},
  {"id": "kh-a-for", "type": "area", "parent": "kh", "name": {"fi": "Forssan seudun palvelualue", "sv": "Forssaregionens serviceområde", "en": "Forssa region service area"}},
  {"id": "kh-061", "type": "municipality", "parent": "kh-a-for", "municipality": "061", "population": 16900, "name": {"fi": "Forssa", "sv": "Forssa", "en": "Forssa"}},
  {"id": "kh-ts-forssa", "type": "health_station", "parent": "kh-061", "name": {"fi": "Forssan terveysasema (synteettinen)", "sv": "Forssa hälsostation (syntetisk)", "en": "Forssa Health Station (synthetic)"}},
  {"id": "kh-tk-forssa", "type": "ward", "parent": "kh-061", "ward_type": "health_centre", "beds": 28, "name": {"fi": "Forssan terveyskeskuksen vuodeosasto (synteettinen)", "sv": "Forssa hälsocentrals bäddavdelning (syntetisk)", "en": "Forssa health centre ward (synthetic)"}},
  {"id": "kh-834", "type": "municipality", "parent": "kh-a-for", "municipality": "834", "population": 5900, "name": {"fi": "Tammela", "sv": "Tammela", "en": "Tammela"}},
  {"id": "kh-ts-tammela", "type": "health_station", "parent": "kh-834", "name": {"fi": "Tammelan terveysasema (synteettinen)", "sv": "Tammela hälsostation (syntetisk)", "en": "Tammela Health Station (synthetic)"}},
  {"id": "kh-169", "type": "municipality", "parent": "kh-a-for", "municipality": "169", "population": 5100, "name": {"fi": "Jokioinen", "sv": "Jockis", "en": "Jokioinen"}},
  {"id": "kh-ts-jokioinen", "type": "health_station", "parent": "kh-169", "name": {"fi": "Jokioisten terveysasema (synteettinen)", "sv": "Jockis hälsostation (syntetisk)", "en": "Jokioinen Health Station (synthetic)"}},
  {"id": "kh-981", "type": "municipality", "parent": "kh-a-for", "municipality": "981", "population": 2300, "name": {"fi": "Ypäjä", "sv": "Ypäjä", "en": "Ypäjä"}},
  {"id": "kh-ts-ypaja", "type": "health_station", "parent": "kh-981", "name": {"fi": "Ypäjän terveysasema (synteettinen)", "sv": "Ypäjä hälsostation (syntetisk)", "en": "Ypäjä Health Station (synthetic)"}},
  {"id": "kh-103", "type": "municipality", "parent": "kh-a-for", "municipality": "103", "population": 2100, "name": {"fi": "Humppila", "sv": "Humppila", "en": "Humppila"}},
  {"id": "kh-ts-humppila", "type": "health_station", "parent": "kh-103", "name": {"fi": "Humppilan terveysasema (synteettinen)", "sv": "Humppila hälsostation (syntetisk)", "en": "Humppila Health Station (synthetic)"}},
  {"id": "kh-khks", "type": "hospital", "parent": "kh", "name": {"fi": "Kanta-Hämeen keskussairaala (synteettinen)", "sv": "Centralsjukhuset i Egentliga Tavastland (syntetisk)", "en": "Kanta-Häme Central Hospital (synthetic)"}},
  {"id": "kh-khks-ed", "type": "ed", "parent": "kh-khks", "beds": 16, "name": {"fi": "Yhteispäivystys", "sv": "Samjouren", "en": "Joint emergency department"}},
  {"id": "kh-khks-sis1", "type": "ward", "parent": "kh-khks", "ward_type": "internal_medicine", "beds": 28, "name": {"fi": "Sisätautien osasto 1", "sv": "Avdelningen för inre medicin 1", "en": "Internal medicine ward 1"}},
  {"id": "kh-khks-sis2", "type": "ward", "parent": "kh-khks", "ward_type": "internal_medicine", "beds": 28, "name": {"fi": "Sisätautien osasto 2", "sv": "Avdelningen för inre medicin 2", "en": "Internal medicine ward 2"}},
  {"id": "kh-khks-kir1", "type": "ward", "parent": "kh-khks", "ward_type": "surgery", "beds": 26, "name": {"fi": "Kirurgian osasto 1", "sv": "Kirurgiska avdelningen 1", "en": "Surgical ward 1"}},
  {"id": "kh-khks-kir2", "type": "ward", "parent": "kh-khks", "ward_type": "surgery", "beds": 24, "name": {"fi": "Kirurgian osasto 2", "sv": "Kirurgiska avdelningen 2", "en": "Surgical ward 2"}},
  {"id": "kh-khks-ort", "type": "ward", "parent": "kh-khks", "ward_type": "orthopaedics", "beds": 24, "name": {"fi": "Ortopedian osasto", "sv": "Ortopediska avdelningen", "en": "Orthopaedic ward"}},
  {"id": "kh-khks-neu", "type": "ward", "parent": "kh-khks", "ward_type": "neurology", "beds": 22, "name": {"fi": "Neurologian osasto", "sv": "Neurologiska avdelningen", "en": "Neurology ward"}},
  {"id": "kh-khks-kar", "type": "ward", "parent": "kh-khks", "ward_type": "cardiology", "beds": 24, "name": {"fi": "Kardiologian osasto", "sv": "Kardiologiska avdelningen", "en": "Cardiology ward"}},
  {"id": "kh-khks-las", "type": "ward", "parent": "kh-khks", "ward_type": "paediatrics", "beds": 20, "name": {"fi": "Lastenosasto", "sv": "Barnavdelningen", "en": "Paediatric ward"}},
  {"id": "kh-khks-syn", "type": "ward", "parent": "kh-khks", "ward_type": "maternity", "beds": 22, "name": {"fi": "Synnytysosasto", "sv": "Förlossningsavdelningen", "en": "Maternity ward"}},
  {"id": "kh-khks-psy", "type": "ward", "parent": "kh-khks", "ward_type": "psychiatry", "beds": 24, "name": {"fi": "Psykiatrian osasto", "sv": "Psykiatriska avdelningen", "en": "Psychiatric ward"}},
  {"id": "kh-khks-teho", "type": "ward", "parent": "kh-khks", "ward_type": "intensive_care", "beds": 8, "name": {"fi": "Teho-osasto", "sv": "Intensivvårdsavdelningen", "en": "Intensive care unit"}},
  {"id": "kh-rmk", "type": "hospital", "parent": "kh", "name": {"fi": "Riihimäen sairaala (synteettinen)", "sv": "Riihimäki sjukhus (syntetisk)", "en": "Riihimäki Hospital (synthetic)"}},
  {"id": "kh-rmk-ed", "type": "ed", "parent": "kh-rmk", "beds": 8, "name": {"fi": "Päivystys", "sv": "Jouren", "en": "Emergency department"}},
  {"id": "kh-rmk-sis", "type": "ward", "parent": "kh-rmk", "ward_type": "internal_medicine", "beds": 28, "name": {"fi": "Sisätautien osasto", "sv": "Avdelningen för inre medicin", "en": "Internal medicine ward"}},
  {"id": "kh-rmk-kir", "type": "ward", "parent": "kh-rmk", "ward_type": "surgery", "beds": 24, "name": {"fi": "Kirurgian osasto", "sv": "Kirurgiska avdelningen", "en": "Surgical ward"}},
  {"id": "kh-rmk-kun", "type": "ward", "parent": "kh-rmk", "ward_type": "rehabilitation", "beds": 24, "name": {"fi": "Kuntoutusosasto", "sv": "Rehabiliteringsavdelningen", "en": "Rehabilitation ward"}},
  {"id": "kh-for", "type": "hospital", "parent": "kh", "name": {"fi": "Forssan sairaala (synteettinen)", "sv": "Forssa sjukhus (syntetisk)", "en": "Forssa Hospital (synthetic)"}},
  {"id": "kh-for-ed", "type": "ed", "parent": "kh-for", "beds": 6, "name": {"fi": "Päivystys", "sv": "Jouren", "en": "Emergency department"}},
  {"id": "kh-for-sis", "type": "ward", "parent": "kh-for", "ward_type": "internal_medicine", "beds": 24, "name": {"fi": "Sisätautien osasto", "sv": "Avdelningen för inre medicin", "en": "Internal medicine ward"}},
  {"id": "kh-for-kun", "type": "ward", "parent": "kh-for", "ward_type": "rehabilitation", "beds": 20, "name": {"fi": "Kuntoutusosasto", "sv": "Rehabiliteringsavdelningen", "en": "Rehabilitation ward"}}
 ],
 "channels": [
  {"id": "kh-adt", "type": "hl7v2", "sender": {"application": "TKGEN", "facility": "KANTA-HAME"},
   "ready_for_transfer": {"segment": "ZTK", "field": 1, "value": "Y"},
   "locations": {
    "HML-TK1": "kh-tk-hml1",
    "HML-TK2": "kh-tk-hml2",
    "JAN-TK": "kh-tk-janakkala",
    "RMK-TK": "kh-tk-riihimaki",
    "FOR-TK": "kh-tk-forssa",
    "KHKS-PAIV": "kh-khks-ed",
    "KHKS-SIS1": "kh-khks-sis1",
    "KHKS-SIS2": "kh-khks-sis2",
    "KHKS-KIR1": "kh-khks-kir1",
    "KHKS-KIR2": "kh-khks-kir2",
    "KHKS-ORT": "kh-khks-ort",
    "KHKS-NEU": "kh-khks-neu",
    "KHKS-KAR": "kh-khks-kar",
    "KHKS-LAS": "kh-khks-las",
    "KHKS-SYN": "kh-khks-syn",
    "KHKS-PSY": "kh-khks-psy",
    "KHKS-TEHO": "kh-khks-teho",
    "RMK-PAIV": "kh-rmk-ed",
    "RMK-SIS": "kh-rmk-sis",
    "RMK-KIR": "kh-rmk-kir",
    "RMK-KUN": "kh-rmk-kun",
    "FOR-PAIV": "kh-for-ed",
    "FOR-SIS": "kh-for-sis",
    "FOR-KUN": "kh-for-kun"
   }}]}
);

static const char lansi_uusimaa[] = J(
{"id": "lansi-uusimaa", "name": {"fi": "Länsi-Uudenmaan hyvinvointialue", "sv": "Västra Nylands välfärdsområde", "en": "Western Uusimaa Wellbeing Services County"},
 "units": [
  {"id": "lu", "type": "county", "name": {"fi": "Länsi-Uudenmaan hyvinvointialue", "sv": "Västra Nylands välfärdsområde", "en": "Western Uusimaa Wellbeing Services County"}},
  {"id": "lu-a-espoo", "type": "area", "parent": "lu", "name": {"fi": "Espoon palvelualue", "sv": "Esbo serviceområde", "en": "Espoo service area"}},
  {"id": "lu-049", "type": "municipality", "parent": "lu-a-espoo", "municipality": "049", "population": 310000, "name": {"fi": "Espoo", "sv": "Esbo", "en": "Espoo"}},
  {"id": "lu-ts-espoonlahti", "type": "health_station", "parent": "lu-049", "name": {"fi": "Espoonlahden terveysasema (synteettinen)", "sv": "Esbovikens hälsostation (syntetisk)", "en": "Espoonlahti Health Station (synthetic)"}},
  {"id": "lu-ts-kivenlahti", "type": "health_station", "parent": "lu-049", "name": {"fi": "Kivenlahden terveysasema (synteettinen)", "sv": "Stensviks hälsostation (syntetisk)", "en": "Kivenlahti Health Station (synthetic)"}},
  {"id": "lu-ts-leppavaara", "type": "health_station", "parent": "lu-049", "name": {"fi": "Leppävaaran terveysasema (synteettinen)", "sv": "Alberga hälsostation (syntetisk)", "en": "Leppävaara Health Station (synthetic)"}},
  {"id": "lu-ts-kilo", "type": "health_station", "parent": "lu-049", "name": {"fi": "Kilon terveysasema (synteettinen)", "sv": "Kilo hälsostation (syntetisk)", "en": "Kilo Health Station (synthetic)"}},
  {"id": "lu-ts-viherlaakso", "type": "health_station", "parent": "lu-049", "name": {"fi": "Viherlaakson terveysasema (synteettinen)", "sv": "Gröndals hälsostation (syntetisk)", "en": "Viherlaakso Health Station (synthetic)"}},
  {"id": "lu-ts-matinkyla", "type": "health_station", "parent": "lu-049", "name": {"fi": "Matinkylän terveysasema (synteettinen)", "sv": "Mattby hälsostation (syntetisk)", "en": "Matinkylä Health Station (synthetic)"}},
  {"id": "lu-ts-tapiola", "type": "health_station", "parent": "lu-049", "name": {"fi": "Tapiolan terveysasema (synteettinen)", "sv": "Hagalunds hälsostation (syntetisk)", "en": "Tapiola Health Station (synthetic)"}},
  {"id": "lu-ts-espoon-keskus", "type": "health_station", "parent": "lu-049", "name": {"fi": "Espoon keskuksen terveysasema (synteettinen)", "sv": "Esbo centrums hälsostation (syntetisk)", "en": "Espoon keskus Health Station (synthetic)"}},
  {"id": "lu-ts-kalajarvi", "type": "health_station", "parent": "lu-049", "name": {"fi": "Kalajärven terveysasema (synteettinen)", "sv": "Kalajärvi hälsostation (syntetisk)", "en": "Kalajärvi Health Station (synthetic)"}},
  {"id": "lu-ts-otaniemi", "type": "health_station", "parent": "lu-049", "name": {"fi": "Otaniemen terveysasema (synteettinen)", "sv": "Otnäs hälsostation (syntetisk)", "en": "Otaniemi Health Station (synthetic)"}},
  {"id": "lu-a-loh", "type": "area", "parent": "lu", "name": {"fi": "Lohjan seudun palvelualue", "sv": "Lojoregionens serviceområde", "en": "Lohja region service area"}},
  {"id": "lu-444", "type": "municipality", "parent": "lu-a-loh", "municipality": "444", "population": 45800, "name": {"fi": "Lohja", "sv": "Lojo", "en": "Lohja"}},
  {"id": "lu-ts-lohja-keskusta", "type": "health_station", "parent": "lu-444", "name": {"fi": "Lohjan keskustan terveysasema (synteettinen)", "sv": "Lojo centrums hälsostation (syntetisk)", "en": "Lohja Centre Health Station (synthetic)"}},
  {"id": "lu-ts-virkkala", "type": "health_station", "parent": "lu-444", "name": {"fi": "Virkkalan terveysasema (synteettinen)", "sv": "Virkby hälsostation (syntetisk)", "en": "Virkkala Health Station (synthetic)"}},
  {"id": "lu-tk-lohja", "type": "ward", "parent": "lu-444", "ward_type": "health_centre", "beds": 30, "name": {"fi": "Lohjan terveyskeskuksen vuodeosasto (synteettinen)", "sv": "Lojo hälsocentrals bäddavdelning (syntetisk)", "en": "Lohja health centre ward (synthetic)"}},
  {"id": "lu-927", "type": "municipality", "parent": "lu-a-loh", "municipality": "927", "population": 29000, "name": {"fi": "Vihti", "sv": "Vichtis", "en": "Vihti"}},
  {"id": "lu-ts-nummela", "type": "health_station", "parent": "lu-927", "name": {"fi": "Nummelan terveysasema (synteettinen)", "sv": "Nummela hälsostation (syntetisk)", "en": "Nummela Health Station (synthetic)"}},
  {"id": "lu-ts-vihti", "type": "health_station", "parent": "lu-927", "name": {"fi": "Vihdin kirkonkylän terveysasema (synteettinen)", "sv": "Vichtis kyrkbys hälsostation (syntetisk)", "en": "Vihti Village Health Station (synthetic)"}},
  {"id": "lu-tk-vihti", "type": "ward", "parent": "lu-927", "ward_type": "health_centre", "beds": 28, "name": {"fi": "Vihdin terveyskeskuksen vuodeosasto (synteettinen)", "sv": "Vichtis hälsocentrals bäddavdelning (syntetisk)", "en": "Vihti health centre ward (synthetic)"}},
  {"id": "lu-224", "type": "municipality", "parent": "lu-a-loh", "municipality": "224", "population": 8600, "name": {"fi": "Karkkila", "sv": "Högfors", "en": "Karkkila"}},
  {"id": "lu-ts-karkkila", "type": "health_station", "parent": "lu-224", "name": {"fi": "Karkkilan terveysasema (synteettinen)", "sv": "Högfors hälsostation (syntetisk)", "en": "Karkkila Health Station (synthetic)"}},
  {"id": "lu-tk-karkkila", "type": "ward", "parent": "lu-224", "ward_type": "health_centre", "beds": 20, "name": {"fi": "Karkkilan terveyskeskuksen vuodeosasto (synteettinen)", "sv": "Högfors hälsocentrals bäddavdelning (syntetisk)", "en": "Karkkila health centre ward (synthetic)"}},
  {"id": "lu-a-kirk", "type": "area", "parent": "lu", "name": {"fi": "Kirkkonummen seudun palvelualue", "sv": "Kyrkslättsregionens serviceområde", "en": "Kirkkonummi region service area"}},
  {"id": "lu-257", "type": "municipality", "parent": "lu-a-kirk", "municipality": "257", "population": 41000, "name": {"fi": "Kirkkonummi", "sv": "Kyrkslätt", "en": "Kirkkonummi"}},
  {"id": "lu-ts-kirkkonummi-keskusta", "type": "health_station", "parent": "lu-257", "name": {"fi": "Kirkkonummen keskustan terveysasema (synteettinen)", "sv": "Kyrkslätt centrums hälsostation (syntetisk)", "en": "Kirkkonummi Centre Health Station (synthetic)"}},
  {"id": "lu-ts-masala", "type": "health_station", "parent": "lu-257", "name": {"fi": "Masalan terveysasema (synteettinen)", "sv": "Masaby hälsostation (syntetisk)", "en": "Masala Health Station (synthetic)"}},
  {"id": "lu-tk-kirkkonummi", "type": "ward", "parent": "lu-257", "ward_type": "health_centre", "beds": 28, "name": {"fi": "Kirkkonummen terveyskeskuksen vuodeosasto (synteettinen)", "sv": "Kyrkslätt hälsocentrals bäddavdelning (syntetisk)", "en": "Kirkkonummi health centre ward (synthetic)"}},
  {"id": "lu-755", "type": "municipality", "parent": "lu-a-kirk", "municipality": "755", "population": 6100, "name": {"fi": "Siuntio", "sv": "Sjundeå", "en": "Siuntio"}},
  {"id": "lu-ts-siuntio", "type": "health_station", "parent": "lu-755", "name": {"fi": "Siuntion terveysasema (synteettinen)", "sv": "Sjundeå hälsostation (syntetisk)", "en": "Siuntio Health Station (synthetic)"}},
  {"id": "lu-149", "type": "municipality", "parent": "lu-a-kirk", "municipality": "149", "population": 5500, "name": {"fi": "Inkoo", "sv": "Ingå", "en": "Inkoo"}},
  {"id": "lu-ts-inkoo", "type": "health_station", "parent": "lu-149", "name": {"fi": "Inkoon terveysasema (synteettinen)", "sv": "Ingå hälsostation (syntetisk)", "en": "Inkoo Health Station (synthetic)"}},
  {"id": "lu-a-raa", "type": "area", "parent": "lu", "name": {"fi": "Raaseporin seudun palvelualue", "sv": "Raseborgsregionens serviceområde", "en": "Raasepori region service area"}},
  {"id": "lu-710", "type": "municipality", "parent": "lu-a-raa", "municipality": "710", "population": 27300, "name": {"fi": "Raasepori", "sv": "Raseborg", "en": "Raasepori"}},
  {"id": "lu-ts-tammisaari", "type": "health_station", "parent": "lu-710", "name": {"fi": "Tammisaaren terveysasema (synteettinen)", "sv": "Ekenäs hälsostation (syntetisk)", "en": "Tammisaari Health Station (synthetic)"}},
  {"id": "lu-ts-karjaa", "type": "health_station", "parent": "lu-710", "name": {"fi": "Karjaan terveysasema (synteettinen)", "sv": "Karis hälsostation (syntetisk)", "en": "Karjaa Health Station (synthetic)"}},
  {"id": "lu-tk-raasepori", "type": "ward", "parent": "lu-710", "ward_type": "health_centre", "beds": 24, "name": {"fi": "Raaseporin terveyskeskuksen vuodeosasto (synteettinen)", "sv": "Raseborgs hälsocentrals bäddavdelning (syntetisk)", "en": "Raasepori health centre ward (synthetic)"}},
  {"id": "lu-078", "type": "municipality", "parent": "lu-a-raa", "municipality": "078", "population": 8000, "name": {"fi": "Hanko", "sv": "Hangö", "en": "Hanko"}},
  {"id": "lu-ts-hanko", "type": "health_station", "parent": "lu-078", "name": {"fi": "Hangon terveysasema (synteettinen)", "sv": "Hangö hälsostation (syntetisk)", "en": "Hanko Health Station (synthetic)"}},
  {"id": "lu-tk-hanko", "type": "ward", "parent": "lu-078", "ward_type": "health_centre", "beds": 16, "name": {"fi": "Hangon terveyskeskuksen vuodeosasto (synteettinen)", "sv": "Hangö hälsocentrals bäddavdelning (syntetisk)", "en": "Hanko health centre ward (synthetic)"}},
  {"id": "lu-jorvi", "type": "hospital", "parent": "lu", "name": {"fi": "Jorvin sairaala (synteettinen)", "sv": "Jorv sjukhus (syntetisk)", "en": "Jorvi Hospital (synthetic)"}},
  {"id": "lu-jorvi-ed", "type": "ed", "parent": "lu-jorvi", "beds": 30, "name": {"fi": "Yhteispäivystys", "sv": "Samjouren", "en": "Joint emergency department"}},
  {"id": "lu-jorvi-sis1", "type": "ward", "parent": "lu-jorvi", "ward_type": "internal_medicine", "beds": 28, "name": {"fi": "Sisätautien osasto 1", "sv": "Avdelningen för inre medicin 1", "en": "Internal medicine ward 1"}},
  {"id": "lu-jorvi-sis2", "type": "ward", "parent": "lu-jorvi", "ward_type": "internal_medicine", "beds": 28, "name": {"fi": "Sisätautien osasto 2", "sv": "Avdelningen för inre medicin 2", "en": "Internal medicine ward 2"}},
  {"id": "lu-jorvi-sis3", "type": "ward", "parent": "lu-jorvi", "ward_type": "internal_medicine", "beds": 28, "name": {"fi": "Sisätautien osasto 3", "sv": "Avdelningen för inre medicin 3", "en": "Internal medicine ward 3"}},
  {"id": "lu-jorvi-sis4", "type": "ward", "parent": "lu-jorvi", "ward_type": "internal_medicine", "beds": 28, "name": {"fi": "Sisätautien osasto 4", "sv": "Avdelningen för inre medicin 4", "en": "Internal medicine ward 4"}},
  {"id": "lu-jorvi-sis5", "type": "ward", "parent": "lu-jorvi", "ward_type": "internal_medicine", "beds": 28, "name": {"fi": "Sisätautien osasto 5", "sv": "Avdelningen för inre medicin 5", "en": "Internal medicine ward 5"}},
  {"id": "lu-jorvi-kir1", "type": "ward", "parent": "lu-jorvi", "ward_type": "surgery", "beds": 26, "name": {"fi": "Kirurgian osasto 1", "sv": "Kirurgiska avdelningen 1", "en": "Surgical ward 1"}},
  {"id": "lu-jorvi-kir2", "type": "ward", "parent": "lu-jorvi", "ward_type": "surgery", "beds": 26, "name": {"fi": "Kirurgian osasto 2", "sv": "Kirurgiska avdelningen 2", "en": "Surgical ward 2"}},
  {"id": "lu-jorvi-ort1", "type": "ward", "parent": "lu-jorvi", "ward_type": "orthopaedics", "beds": 26, "name": {"fi": "Ortopedian osasto 1", "sv": "Ortopediska avdelningen 1", "en": "Orthopaedic ward 1"}},
  {"id": "lu-jorvi-ort2", "type": "ward", "parent": "lu-jorvi", "ward_type": "orthopaedics", "beds": 26, "name": {"fi": "Ortopedian osasto 2", "sv": "Ortopediska avdelningen 2", "en": "Orthopaedic ward 2"}},
  {"id": "lu-jorvi-neu", "type": "ward", "parent": "lu-jorvi", "ward_type": "neurology", "beds": 26, "name": {"fi": "Neurologian osasto", "sv": "Neurologiska avdelningen", "en": "Neurology ward"}},
  {"id": "lu-jorvi-kar", "type": "ward", "parent": "lu-jorvi", "ward_type": "cardiology", "beds": 26, "name": {"fi": "Kardiologian osasto", "sv": "Kardiologiska avdelningen", "en": "Cardiology ward"}},
  {"id": "lu-jorvi-las", "type": "ward", "parent": "lu-jorvi", "ward_type": "paediatrics", "beds": 24, "name": {"fi": "Lastenosasto", "sv": "Barnavdelningen", "en": "Paediatric ward"}},
  {"id": "lu-jorvi-syn1", "type": "ward", "parent": "lu-jorvi", "ward_type": "maternity", "beds": 22, "name": {"fi": "Synnytysosasto 1", "sv": "Förlossningsavdelningen 1", "en": "Maternity ward 1"}},
  {"id": "lu-jorvi-syn2", "type": "ward", "parent": "lu-jorvi", "ward_type": "maternity", "beds": 22, "name": {"fi": "Synnytysosasto 2", "sv": "Förlossningsavdelningen 2", "en": "Maternity ward 2"}},
  {"id": "lu-jorvi-psy1", "type": "ward", "parent": "lu-jorvi", "ward_type": "psychiatry", "beds": 24, "name": {"fi": "Psykiatrian osasto 1", "sv": "Psykiatriska avdelningen 1", "en": "Psychiatric ward 1"}},
  {"id": "lu-jorvi-psy2", "type": "ward", "parent": "lu-jorvi", "ward_type": "psychiatry", "beds": 24, "name": {"fi": "Psykiatrian osasto 2", "sv": "Psykiatriska avdelningen 2", "en": "Psychiatric ward 2"}},
  {"id": "lu-jorvi-teho", "type": "ward", "parent": "lu-jorvi", "ward_type": "intensive_care", "beds": 12, "name": {"fi": "Teho-osasto", "sv": "Intensivvårdsavdelningen", "en": "Intensive care unit"}},
  {"id": "lu-esh", "type": "hospital", "parent": "lu", "name": {"fi": "Espoon sairaala (synteettinen)", "sv": "Esbo sjukhus (syntetisk)", "en": "Espoo Hospital (synthetic)"}},
  {"id": "lu-esh-ger1", "type": "ward", "parent": "lu-esh", "ward_type": "geriatrics", "beds": 30, "name": {"fi": "Geriatrinen osasto 1", "sv": "Geriatriska avdelningen 1", "en": "Geriatric ward 1"}},
  {"id": "lu-esh-ger2", "type": "ward", "parent": "lu-esh", "ward_type": "geriatrics", "beds": 30, "name": {"fi": "Geriatrinen osasto 2", "sv": "Geriatriska avdelningen 2", "en": "Geriatric ward 2"}},
  {"id": "lu-esh-ger3", "type": "ward", "parent": "lu-esh", "ward_type": "geriatrics", "beds": 30, "name": {"fi": "Geriatrinen osasto 3", "sv": "Geriatriska avdelningen 3", "en": "Geriatric ward 3"}},
  {"id": "lu-esh-ger4", "type": "ward", "parent": "lu-esh", "ward_type": "geriatrics", "beds": 30, "name": {"fi": "Geriatrinen osasto 4", "sv": "Geriatriska avdelningen 4", "en": "Geriatric ward 4"}},
  {"id": "lu-esh-ger5", "type": "ward", "parent": "lu-esh", "ward_type": "geriatrics", "beds": 30, "name": {"fi": "Geriatrinen osasto 5", "sv": "Geriatriska avdelningen 5", "en": "Geriatric ward 5"}},
  {"id": "lu-esh-ger6", "type": "ward", "parent": "lu-esh", "ward_type": "geriatrics", "beds": 30, "name": {"fi": "Geriatrinen osasto 6", "sv": "Geriatriska avdelningen 6", "en": "Geriatric ward 6"}},
  {"id": "lu-esh-kun1", "type": "ward", "parent": "lu-esh", "ward_type": "rehabilitation", "beds": 30, "name": {"fi": "Kuntoutusosasto 1", "sv": "Rehabiliteringsavdelningen 1", "en": "Rehabilitation ward 1"}},
  {"id": "lu-esh-kun2", "type": "ward", "parent": "lu-esh", "ward_type": "rehabilitation", "beds": 30, "name": {"fi": "Kuntoutusosasto 2", "sv": "Rehabiliteringsavdelningen 2", "en": "Rehabilitation ward 2"}},
  {"id": "lu-loh", "type": "hospital", "parent": "lu", "name": {"fi": "Lohjan sairaala (synteettinen)", "sv": "Lojo sjukhus (syntetisk)", "en": "Lohja Hospital (synthetic)"}},
  {"id": "lu-loh-ed", "type": "ed", "parent": "lu-loh", "beds": 14, "name": {"fi": "Päivystys", "sv": "Jouren", "en": "Emergency department"}},
  {"id": "lu-loh-sis1", "type": "ward", "parent": "lu-loh", "ward_type": "internal_medicine", "beds": 28, "name": {"fi": "Sisätautien osasto 1", "sv": "Avdelningen för inre medicin 1", "en": "Internal medicine ward 1"}},
  {"id": "lu-loh-sis2", "type": "ward", "parent": "lu-loh", "ward_type": "internal_medicine", "beds": 28, "name": {"fi": "Sisätautien osasto 2", "sv": "Avdelningen för inre medicin 2", "en": "Internal medicine ward 2"}},
  {"id": "lu-loh-kir", "type": "ward", "parent": "lu-loh", "ward_type": "surgery", "beds": 26, "name": {"fi": "Kirurgian osasto", "sv": "Kirurgiska avdelningen", "en": "Surgical ward"}},
  {"id": "lu-loh-ort", "type": "ward", "parent": "lu-loh", "ward_type": "orthopaedics", "beds": 24, "name": {"fi": "Ortopedian osasto", "sv": "Ortopediska avdelningen", "en": "Orthopaedic ward"}},
  {"id": "lu-loh-syn", "type": "ward", "parent": "lu-loh", "ward_type": "maternity", "beds": 18, "name": {"fi": "Synnytysosasto", "sv": "Förlossningsavdelningen", "en": "Maternity ward"}},
  {"id": "lu-loh-psy", "type": "ward", "parent": "lu-loh", "ward_type": "psychiatry", "beds": 20, "name": {"fi": "Psykiatrian osasto", "sv": "Psykiatriska avdelningen", "en": "Psychiatric ward"}},
  {"id": "lu-raa", "type": "hospital", "parent": "lu", "name": {"fi": "Raaseporin sairaala (synteettinen)", "sv": "Raseborgs sjukhus (syntetisk)", "en": "Raasepori Hospital (synthetic)"}},
  {"id": "lu-raa-ed", "type": "ed", "parent": "lu-raa", "beds": 8, "name": {"fi": "Päivystys", "sv": "Jouren", "en": "Emergency department"}},
  {"id": "lu-raa-sis", "type": "ward", "parent": "lu-raa", "ward_type": "internal_medicine", "beds": 24, "name": {"fi": "Sisätautien osasto", "sv": "Avdelningen för inre medicin", "en": "Internal medicine ward"}},
  {"id": "lu-raa-kir", "type": "ward", "parent": "lu-raa", "ward_type": "surgery", "beds": 20, "name": {"fi": "Kirurgian osasto", "sv": "Kirurgiska avdelningen", "en": "Surgical ward"}},
  {"id": "lu-raa-kun", "type": "ward", "parent": "lu-raa", "ward_type": "rehabilitation", "beds": 20, "name": {"fi": "Kuntoutusosasto", "sv": "Rehabiliteringsavdelningen", "en": "Rehabilitation ward"}}
 ],
 "channels": [
  {"id": "lu-adt", "type": "hl7v2", "sender": {"application": "TKGEN", "facility": "LANSI-UUSIMAA"},
   "ready_for_transfer": {"segment": "ZTK", "field": 1, "value": "Y"},
   "locations": {
    "LOH-TK": "lu-tk-lohja",
    "VIH-TK": "lu-tk-vihti",
    "KAR-TK": "lu-tk-karkkila",
    "KIR-TK": "lu-tk-kirkkonummi",
    "RAA-TK": "lu-tk-raasepori",
    "HAN-TK": "lu-tk-hanko",
    "JORVI-PAIV": "lu-jorvi-ed",
    "JORVI-SIS1": "lu-jorvi-sis1",
    "JORVI-SIS2": "lu-jorvi-sis2",
    "JORVI-SIS3": "lu-jorvi-sis3",
    "JORVI-SIS4": "lu-jorvi-sis4",
    "JORVI-SIS5": "lu-jorvi-sis5",
    "JORVI-KIR1": "lu-jorvi-kir1",
    "JORVI-KIR2": "lu-jorvi-kir2",
    "JORVI-ORT1": "lu-jorvi-ort1",
    "JORVI-ORT2": "lu-jorvi-ort2",
    "JORVI-NEU": "lu-jorvi-neu",
    "JORVI-KAR": "lu-jorvi-kar",
    "JORVI-LAS": "lu-jorvi-las",
    "JORVI-SYN1": "lu-jorvi-syn1",
    "JORVI-SYN2": "lu-jorvi-syn2",
    "JORVI-PSY1": "lu-jorvi-psy1",
    "JORVI-PSY2": "lu-jorvi-psy2",
    "JORVI-TEHO": "lu-jorvi-teho",
    "ESH-GER1": "lu-esh-ger1",
    "ESH-GER2": "lu-esh-ger2",
    "ESH-GER3": "lu-esh-ger3",
    "ESH-GER4": "lu-esh-ger4",
    "ESH-GER5": "lu-esh-ger5",
    "ESH-GER6": "lu-esh-ger6",
    "ESH-KUN1": "lu-esh-kun1",
    "ESH-KUN2": "lu-esh-kun2",
    "LOH-PAIV": "lu-loh-ed",
    "LOH-SIS1": "lu-loh-sis1",
    "LOH-SIS2": "lu-loh-sis2",
    "LOH-KIR": "lu-loh-kir",
    "LOH-ORT": "lu-loh-ort",
    "LOH-SYN": "lu-loh-syn",
    "LOH-PSY": "lu-loh-psy",
    "RAA-PAIV": "lu-raa-ed",
    "RAA-SIS": "lu-raa-sis",
    "RAA-KIR": "lu-raa-kir",
    "RAA-KUN": "lu-raa-kun"
   }}]}
);
/* clang-format on */

const char *org_builtin_json(const char *region) {
  if (region == NULL)
    return NULL;
  if (strcmp(region, "kanta-hame") == 0)
    return kanta_hame;
  if (strcmp(region, "lansi-uusimaa") == 0)
    return lansi_uusimaa;
  return NULL;
}
