"""Writes archon's built-in task sets (data/tasks/*.jsonl), each of >= 100 items.

Written for archon (not copied from any benchmark); facts of common knowledge. Licence:
the same as archon's. Run: python data/tasks/make_tasks.py (deterministic).
"""

import json
import random
from pathlib import Path

HERE = Path(__file__).parent

ANTONYMS = """hot cold|big small|fast slow|happy sad|up down|rich poor|light dark|open closed|early late|full empty
hard soft|high low|long short|new old|young old|strong weak|wet dry|clean dirty|thick thin|wide narrow
heavy light|loud quiet|tall short|good bad|right wrong|true false|love hate|win lose|buy sell|push pull
give take|come go|begin end|first last|inside outside|above below|before after|day night|front back|left right
black white|north south|east west|top bottom|alive dead|awake asleep|brave cowardly|cheap expensive|deep shallow|easy difficult
empty full|fat thin|friend enemy|gentle rough|guilty innocent|happy unhappy|healthy sick|honest dishonest|huge tiny|inner outer
kind cruel|large small|lazy active|major minor|male female|many few|maximum minimum|more less|near far|noisy silent
odd even|on off|optimist pessimist|patient impatient|polite rude|possible impossible|present absent|private public|question answer|quick slow
rare common|raw cooked|safe dangerous|same different|sharp blunt|simple complex|single married|smooth rough|sour sweet|start finish
sunny cloudy|tight loose|tidy messy|ugly beautiful|vertical horizontal|visible invisible|war peace|warm cool|wild tame|wise foolish
accept refuse|add subtract|allow forbid|arrive depart|attack defend|borrow lend|build destroy|catch throw|continue stop|create destroy
float sink|forget remember|include exclude|increase decrease|laugh cry|lead follow|lend borrow|lift drop|open shut|pass fail
rise fall|send receive|sit stand|spend save|teach learn|agree disagree|appear disappear|expand shrink|freeze melt|hide seek""".replace(
    "\n", "|"
)

CAPITALS = """Germany Berlin|Italy Rome|Spain Madrid|France Paris|Portugal Lisbon|Greece Athens|Austria Vienna|Poland Warsaw|Hungary Budapest|Sweden Stockholm
Norway Oslo|Finland Helsinki|Denmark Copenhagen|Ireland Dublin|Belgium Brussels|Netherlands Amsterdam|Switzerland Bern|Czechia Prague|Slovakia Bratislava|Romania Bucharest
Bulgaria Sofia|Serbia Belgrade|Croatia Zagreb|Slovenia Ljubljana|Albania Tirana|Ukraine Kyiv|Belarus Minsk|Lithuania Vilnius|Latvia Riga|Estonia Tallinn
Russia Moscow|Turkey Ankara|Iceland Reykjavik|Luxembourg Luxembourg|Malta Valletta|Cyprus Nicosia|Moldova Chisinau|Georgia Tbilisi|Armenia Yerevan|Azerbaijan Baku
Japan Tokyo|China Beijing|India New Delhi|Pakistan Islamabad|Bangladesh Dhaka|Nepal Kathmandu|Thailand Bangkok|Vietnam Hanoi|Cambodia Phnom Penh|Laos Vientiane
Malaysia Kuala Lumpur|Indonesia Jakarta|Philippines Manila|Mongolia Ulaanbaatar|Afghanistan Kabul|Iran Tehran|Iraq Baghdad|Syria Damascus|Jordan Amman|Lebanon Beirut
Israel Jerusalem|Saudi Arabia Riyadh|Yemen Sanaa|Oman Muscat|Qatar Doha|Kuwait Kuwait City|Kazakhstan Astana|Uzbekistan Tashkent|Kyrgyzstan Bishkek|Tajikistan Dushanbe
South Korea Seoul|North Korea Pyongyang|Sri Lanka Colombo|Myanmar Naypyidaw|Singapore Singapore|Egypt Cairo|Libya Tripoli|Tunisia Tunis|Algeria Algiers|Morocco Rabat
Sudan Khartoum|Ethiopia Addis Ababa|Kenya Nairobi|Uganda Kampala|Tanzania Dodoma|Rwanda Kigali|Nigeria Abuja|Ghana Accra|Senegal Dakar|Mali Bamako
Niger Niamey|Chad N'Djamena|Cameroon Yaounde|Angola Luanda|Zambia Lusaka|Zimbabwe Harare|Mozambique Maputo|Namibia Windhoek|Botswana Gaborone|Madagascar Antananarivo
Somalia Mogadishu|Eritrea Asmara|Liberia Monrovia|Guinea Conakry|Togo Lome|Benin Porto-Novo|Gabon Libreville|Malawi Lilongwe|Burundi Gitega|Mauritania Nouakchott
Canada Ottawa|United States Washington|Mexico Mexico City|Cuba Havana|Jamaica Kingston|Haiti Port-au-Prince|Guatemala Guatemala City|Honduras Tegucigalpa|Nicaragua Managua|Costa Rica San Jose
Panama Panama City|El Salvador San Salvador|Colombia Bogota|Venezuela Caracas|Ecuador Quito|Peru Lima|Bolivia Sucre|Chile Santiago|Argentina Buenos Aires|Uruguay Montevideo
Paraguay Asuncion|Brazil Brasilia|Guyana Georgetown|Suriname Paramaribo|Australia Canberra|New Zealand Wellington|Fiji Suva|Papua New Guinea Port Moresby|Samoa Apia|Tonga Nuku'alofa""".replace(
    "\n", "|"
)

PAST = """go went|see saw|eat ate|run ran|take took|give gave|come came|know knew|write wrote|speak spoke
drive drove|fly flew|swim swam|sing sang|drink drank|begin began|break broke|choose chose|forget forgot|freeze froze
steal stole|wake woke|wear wore|tear tore|bear bore|ride rode|rise rose|shake shook|throw threw|grow grew
draw drew|blow blew|fall fell|feel felt|keep kept|sleep slept|leave left|meet met|send sent|spend spent
build built|lend lent|bend bent|buy bought|bring brought|think thought|fight fought|catch caught|teach taught|seek sought
sell sold|tell told|find found|hold held|stand stood|understand understood|lose lost|make made|pay paid|say said
sit sat|get got|win won|hang hung|dig dug|stick stuck|strike struck|swing swung|lead led|feed fed
hear heard|mean meant|read read|put put|cut cut|hit hit|let let|set set|shut shut|cost cost
walk walked|talk talked|play played|jump jumped|cook cooked|clean cleaned|open opened|close closed|watch watched|listen listened
help helped|call called|ask asked|want wanted|need needed|start started|finish finished|try tried|cry cried|carry carried
stop stopped|plan planned|drop dropped|shop shopped|hope hoped|like liked|love loved|move moved|smile smiled|dance danced
visit visited|answer answered|travel traveled|climb climbed|laugh laughed|kiss kissed|wash washed|fix fixed|mix mixed|push pushed""".replace(
    "\n", "|"
)

PLURALS = """child children|man men|woman women|tooth teeth|foot feet|mouse mice|goose geese|person people|ox oxen|louse lice
cactus cacti|fungus fungi|nucleus nuclei|radius radii|stimulus stimuli|crisis crises|thesis theses|analysis analyses|basis bases|oasis oases
phenomenon phenomena|criterion criteria|datum data|medium media|bacterium bacteria|curriculum curricula|index indices|appendix appendices|matrix matrices|vertex vertices
knife knives|wife wives|life lives|leaf leaves|wolf wolves|half halves|calf calves|shelf shelves|thief thieves|loaf loaves
sheep sheep|fish fish|deer deer|moose moose|series series|species species|aircraft aircraft|salmon salmon|trout trout|bison bison
box boxes|bus buses|church churches|dish dishes|fox foxes|glass glasses|kiss kisses|wish wishes|watch watches|brush brushes
city cities|baby babies|party parties|story stories|lady ladies|country countries|family families|puppy puppies|berry berries|body bodies
boy boys|day days|key keys|toy toys|monkey monkeys|valley valleys|donkey donkeys|tray trays|play plays|guy guys
potato potatoes|tomato tomatoes|hero heroes|echo echoes|piano pianos|photo photos|radio radios|zoo zoos|video videos|kilo kilos
cat cats|dog dogs|book books|car cars|tree trees|house houses|apple apples|bird birds|chair chairs|table tables
river rivers|window windows|garden gardens|pencil pencils|flower flowers|horse horses|student students|teacher teachers|doctor doctors|bottle bottles
roof roofs|chief chiefs|belief beliefs|cliff cliffs|chef chefs|proof proofs|safe safes|giraffe giraffes|cuff cuffs|reef reefs""".replace(
    "\n", "|"
)

ELEMENTS = """Hydrogen H|Helium He|Lithium Li|Beryllium Be|Boron B|Carbon C|Nitrogen N|Oxygen O|Fluorine F|Neon Ne
Sodium Na|Magnesium Mg|Aluminium Al|Silicon Si|Phosphorus P|Sulfur S|Chlorine Cl|Argon Ar|Potassium K|Calcium Ca
Scandium Sc|Titanium Ti|Vanadium V|Chromium Cr|Manganese Mn|Iron Fe|Cobalt Co|Nickel Ni|Copper Cu|Zinc Zn
Gallium Ga|Germanium Ge|Arsenic As|Selenium Se|Bromine Br|Krypton Kr|Rubidium Rb|Strontium Sr|Yttrium Y|Zirconium Zr
Niobium Nb|Molybdenum Mo|Technetium Tc|Ruthenium Ru|Rhodium Rh|Palladium Pd|Silver Ag|Cadmium Cd|Indium In|Tin Sn
Antimony Sb|Tellurium Te|Iodine I|Xenon Xe|Caesium Cs|Barium Ba|Lanthanum La|Cerium Ce|Praseodymium Pr|Neodymium Nd
Promethium Pm|Samarium Sm|Europium Eu|Gadolinium Gd|Terbium Tb|Dysprosium Dy|Holmium Ho|Erbium Er|Thulium Tm|Ytterbium Yb
Lutetium Lu|Hafnium Hf|Tantalum Ta|Tungsten W|Rhenium Re|Osmium Os|Iridium Ir|Platinum Pt|Gold Au|Mercury Hg
Thallium Tl|Lead Pb|Bismuth Bi|Polonium Po|Astatine At|Radon Rn|Francium Fr|Radium Ra|Actinium Ac|Thorium Th
Protactinium Pa|Uranium U|Neptunium Np|Plutonium Pu|Americium Am|Curium Cm|Berkelium Bk|Californium Cf|Einsteinium Es|Fermium Fm
Mendelevium Md|Nobelium No|Lawrencium Lr|Rutherfordium Rf|Dubnium Db|Seaborgium Sg|Bohrium Bh|Hassium Hs|Meitnerium Mt|Darmstadtium Ds""".replace(
    "\n", "|"
)


def pairs(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split("|"):
        words = item.strip().split(" ")
        out.append((" ".join(words[:-1]), words[-1]))
    return out


def capitals() -> list[tuple[str, str]]:
    out = []
    for item in CAPITALS.split("|"):
        words = item.strip().split(" ")
        # countries of one or two words; the rest is the capital
        for split in (1, 2):
            country = " ".join(words[:split])
            if country in KNOWN_TWO_WORD or split == 1 and " ".join(words[:2]) not in KNOWN_TWO_WORD:
                out.append((country, " ".join(words[split:])))
                break
    return out


KNOWN_TWO_WORD = {
    "Saudi Arabia",
    "South Korea",
    "North Korea",
    "Sri Lanka",
    "United States",
    "Costa Rica",
    "El Salvador",
    "New Zealand",
    "Papua New",
}


def sequences(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        start, step = rng.randint(1, 30), rng.choice([1, 2, 3, 4, 5, 10, 20, -1, -2])
        terms = [start + i * step for i in range(5)]
        out.append((", ".join(map(str, terms[:4])) + ",", str(terms[4])))
    return out


def write(name: str, rows: list[tuple[str, str]]) -> None:
    seen, uniq = set(), []
    for a, b in rows:
        if a not in seen:
            seen.add(a)
            uniq.append((a, b))
    assert len(uniq) >= 100, (name, len(uniq))
    with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as f:
        for a, b in uniq:
            f.write(json.dumps({"input": a, "answer": b}) + "\n")
    print(name, len(uniq))


if __name__ == "__main__":
    write("antonyms", pairs(ANTONYMS))
    write("capitals", [(c, k) for c, k in capitals() if c != "Papua New"] + [("Papua New Guinea", "Port Moresby")])
    write("past-tense", pairs(PAST))
    write("plurals", pairs(PLURALS))
    write("elements", pairs(ELEMENTS))
    write("sequences", sequences(150))
