"""Held-out task sets for checking that a compiled winner beats one call on tasks archon's
defaults were never tuned on: written on 2026-12-07, after the search code they check
was fixed, and run once each. Facts of common knowledge; written for archon; licence the
same as archon's. The next stop added feminines (king → queen), nouns (decide →
decision) and romans (1–130 → I–CXXX), written before any run on them and run once
(``NAME ...`` after OUT_DIR writes only those). (Earlier stops' held-out sets —
comparatives, continents, number words, addition, sentiment — were written the same way
and are reported in the README.)

Run: .venv/bin/python benchmarks/heldout_tasks.py OUT_DIR [NAME ...], then for each file
.venv/bin/archon optimize --dataset OUT_DIR/NAME.jsonl --model local/gemma-3-270m --json
(or benchmarks/quality_lift.py --tasks-dir OUT_DIR).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

# country -> the adjective for its people and things (demonym)
DEMONYMS = """France French|Germany German|Spain Spanish|Italy Italian|Portugal Portuguese|Greece Greek|Sweden Swedish
Norway Norwegian|Finland Finnish|Denmark Danish|Poland Polish|Russia Russian|Ukraine Ukrainian|Turkey Turkish
Japan Japanese|China Chinese|India Indian|Brazil Brazilian|Mexico Mexican|Canada Canadian|Egypt Egyptian
Ireland Irish|Scotland Scottish|Wales Welsh|England English|Netherlands Dutch|Belgium Belgian|Switzerland Swiss
Austria Austrian|Hungary Hungarian|Romania Romanian|Bulgaria Bulgarian|Serbia Serbian|Croatia Croatian|Albania Albanian
Iceland Icelandic|Estonia Estonian|Latvia Latvian|Lithuania Lithuanian|Czechia Czech|Slovakia Slovak|Slovenia Slovenian
Korea Korean|Vietnam Vietnamese|Thailand Thai|Indonesia Indonesian|Malaysia Malaysian|Philippines Filipino|Pakistan Pakistani
Bangladesh Bangladeshi|Nepal Nepalese|Iran Iranian|Iraq Iraqi|Israel Israeli|Syria Syrian|Lebanon Lebanese
Jordan Jordanian|Afghanistan Afghan|Mongolia Mongolian|Kenya Kenyan|Nigeria Nigerian|Ghana Ghanaian|Ethiopia Ethiopian
Morocco Moroccan|Algeria Algerian|Tunisia Tunisian|Libya Libyan|Sudan Sudanese|Somalia Somali|Senegal Senegalese
Argentina Argentinian|Chile Chilean|Peru Peruvian|Colombia Colombian|Venezuela Venezuelan|Bolivia Bolivian|Ecuador Ecuadorian
Uruguay Uruguayan|Paraguay Paraguayan|Cuba Cuban|Jamaica Jamaican|Haiti Haitian|Panama Panamanian|Honduras Honduran
Guatemala Guatemalan|Nicaragua Nicaraguan|Australia Australian|Fiji Fijian|Samoa Samoan|Tonga Tongan
Cyprus Cypriot|Malta Maltese|Monaco Monegasque|Luxembourg Luxembourgish|Armenia Armenian|Georgia Georgian|Belarus Belarusian
Kazakhstan Kazakh|Uzbekistan Uzbek|Tanzania Tanzanian|Uganda Ugandan|Rwanda Rwandan|Zambia Zambian|Zimbabwe Zimbabwean
Angola Angolan|Namibia Namibian|Cameroon Cameroonian|Mali Malian|Chad Chadian|Madagascar Malagasy|Yemen Yemeni
Oman Omani|Qatar Qatari|Kuwait Kuwaiti|Bahrain Bahraini|Tibet Tibetan|Bhutan Bhutanese|Laos Lao
Cambodia Cambodian|Myanmar Burmese|Singapore Singaporean|Taiwan Taiwanese|Sweden Swedish"""

# adjective -> adverb (regular -ly, -y -> -ily, -le -> -ly, -ic -> -ically, irregulars)
ADVERBS = """quick quickly|slow slowly|careful carefully|quiet quietly|loud loudly|sad sadly|bad badly|soft softly
happy happily|easy easily|busy busily|lucky luckily|angry angrily|heavy heavily|noisy noisily|lazy lazily
gentle gently|simple simply|terrible terribly|possible possibly|humble humbly|probable probably|horrible horribly|comfortable comfortably
good well|fast fast|hard hard|late late|early early|straight straight|daily daily|high high
basic basically|tragic tragically|magic magically|logical logically|automatic automatically|dramatic dramatically|heroic heroically|public publicly
calm calmly|brave bravely|proud proudly|rude rudely|polite politely|honest honestly|kind kindly|warm warmly
cold coldly|bright brightly|clear clearly|clever cleverly|silent silently|sudden suddenly|rapid rapidly|smooth smoothly
strong strongly|weak weakly|free freely|safe safely|wise wisely|sweet sweetly|neat neatly|firm firmly
final finally|usual usually|real really|total totally|equal equally|normal normally|natural naturally|formal formally
open openly|close closely|complete completely|correct correctly|direct directly|exact exactly|perfect perfectly|proper properly
serious seriously|curious curiously|nervous nervously|famous famously|anxious anxiously|generous generously|obvious obviously|jealous jealously
bold boldly|fair fairly|glad gladly|loose loosely|tight tightly|wide widely|deep deeply|near nearly
patient patiently|silent silently|violent violently|frequent frequently|recent recently|decent decently|brilliant brilliantly|elegant elegantly"""

# country -> its currency's name (as in common English use)
CURRENCIES = """Japan yen|China yuan|India rupee|Pakistan rupee|Nepal rupee|Russia ruble|Belarus ruble|Ukraine hryvnia
United States dollar|Canada dollar|Australia dollar|Singapore dollar|Jamaica dollar|Taiwan dollar|Fiji dollar|Zimbabwe dollar
Germany euro|France euro|Italy euro|Spain euro|Portugal euro|Greece euro|Ireland euro|Finland euro
Austria euro|Belgium euro|Netherlands euro|Slovakia euro|Slovenia euro|Estonia euro|Latvia euro|Lithuania euro
United Kingdom pound|Egypt pound|Lebanon pound|Syria pound|Sudan pound|Mexico peso|Argentina peso|Chile peso
Colombia peso|Cuba peso|Philippines peso|Uruguay peso|Sweden krona|Norway krone|Denmark krone|Iceland krona
Czechia koruna|Poland zloty|Hungary forint|Romania leu|Moldova leu|Bulgaria lev|Switzerland franc|Rwanda franc
Burundi franc|Guinea franc|Brazil real|South Africa rand|Nigeria naira|Ghana cedi|Kenya shilling|Uganda shilling
Tanzania shilling|Somalia shilling|Ethiopia birr|Morocco dirham|United Arab Emirates dirham|Algeria dinar|Tunisia dinar|Libya dinar
Iraq dinar|Jordan dinar|Kuwait dinar|Bahrain dinar|Serbia dinar|Saudi Arabia riyal|Qatar riyal|Iran rial
Oman rial|Yemen rial|Israel shekel|Turkey lira|Thailand baht|Vietnam dong|Indonesia rupiah|Malaysia ringgit
South Korea won|North Korea won|Bangladesh taka|Mongolia tugrik|Kazakhstan tenge|Georgia lari|Armenia dram|Azerbaijan manat
Peru sol|Venezuela bolivar|Bolivia boliviano|Paraguay guarani|Costa Rica colon|Panama balboa|Guatemala quetzal|Honduras lempira
Nicaragua cordoba|Haiti gourde|Zambia kwacha|Malawi kwacha|Botswana pula|Angola kwanza|Mozambique metical|Cambodia riel
Laos kip|Myanmar kyat|Sri Lanka rupee|Afghanistan afghani|Albania lek|Croatia euro|Cyprus euro|Malta euro"""


# written on the next stop (2026-12-07, session 26), before any run on them:
# male -> female counterpart (nouns of people and animals)
FEMININES = """king queen|prince princess|actor actress|waiter waitress|host hostess|god goddess|emperor empress
duke duchess|lion lioness|tiger tigress|heir heiress|steward stewardess|master mistress|count countess
father mother|brother sister|son daughter|uncle aunt|nephew niece|husband wife|boy girl|man woman|gentleman lady
sir madam|monk nun|groom bride|bridegroom bride|widower widow|grandfather grandmother|grandson granddaughter
stepfather stepmother|stepson stepdaughter|landlord landlady|headmaster headmistress|policeman policewoman
chairman chairwoman|businessman businesswoman|sportsman sportswoman|salesman saleswoman|spokesman spokeswoman
fireman firewoman|postman postwoman|schoolboy schoolgirl|boyfriend girlfriend|godfather godmother|fiance fiancee
hero heroine|bull cow|rooster hen|cock hen|stallion mare|ram ewe|buck doe|boar sow|gander goose|drake duck
fox vixen|dog bitch|colt filly|bachelor spinster|wizard witch|lad lass|sultan sultana|tsar tsarina|czar czarina
baron baroness|marquis marchioness|viscount viscountess|shepherd shepherdess|patron patroness|poet poetess
priest priestess|abbot abbess|author authoress|manager manageress|usher usherette|murderer murderess
conductor conductress|instructor instructress|mister missus|daddy mummy|dad mum|papa mama|grandpa grandma
brother-in-law sister-in-law|father-in-law mother-in-law|son-in-law daughter-in-law|masseur masseuse
comedian comedienne|peacock peahen|billy-goat nanny-goat|he-goat she-goat
tomcat queen|manservant maidservant|milkman milkmaid|nobleman noblewoman|countryman countrywoman|horseman horsewoman"""

# verb -> its noun (nominalization: -tion, -ment, -ance, -al, -ure and irregulars)
NOUNS = """decide decision|educate education|inform information|create creation|explain explanation|invite invitation
describe description|admit admission|permit permission|discuss discussion|agree agreement|develop development
move movement|pay payment|govern government|improve improvement|manage management|enjoy enjoyment|argue argument
accept acceptance|appear appearance|perform performance|assist assistance|avoid avoidance|guide guidance
arrive arrival|approve approval|refuse refusal|propose proposal|deny denial|survive survival|remove removal
fail failure|please pleasure|depart departure|mix mixture|close closure|press pressure|sign signature
choose choice|lose loss|die death|grow growth|succeed success|think thought|see sight|fly flight|give gift
believe belief|prove proof|live life|sell sale|serve service|speak speech|bear birth|weigh weight|know knowledge
marry marriage|carry carriage|pass passage|store storage|leak leakage|break breakage|deliver delivery
discover discovery|recover recovery|injure injury|flatter flattery|rob robbery|bake bakery|bribe bribery
attend attendance|exist existence|differ difference|prefer preference|refer reference|depend dependence
collide collision|divide division|decide decision|conclude conclusion|include inclusion|exclude exclusion
invade invasion|explode explosion|erode erosion|persuade persuasion|extend extension|expand expansion
revise revision|supervise supervision|confuse confusion|produce production|reduce reduction|introduce introduction
destroy destruction|describe description|satisfy satisfaction|react reaction|protect protection|collect collection
elect election|correct correction|connect connection|select selection|inspect inspection|direct direction
occur occurrence|resist resistance|insure insurance|ignore ignorance|tolerate tolerance|enter entrance
analyze analysis|emphasize emphasis|hate hatred|laugh laughter|behave behavior|bury burial|try trial"""


def roman(n: int) -> str:
    """1..3999 as a Roman numeral (standard subtractive form)."""
    out = ""
    for value, digits in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):  # fmt: skip
        while n >= value:
            out += digits
            n -= value
    return out


ROMANS = "|".join(f"{n} {roman(n)}" for n in range(1, 131))


def pairs(text: str) -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    for item in text.replace("\n", "|").split("|"):
        words = item.split()
        key, value = " ".join(words[:-1]), words[-1]
        out.setdefault(key, value)  # a repeated line keeps its first answer
    return list(out.items())


def write(out: Path, names: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = []
    only = set(names or ())
    for name, text, field, answer in (
        ("demonyms", DEMONYMS, "country", "adjective"),
        ("adverbs", ADVERBS, "adjective", "adverb"),
        ("currencies", CURRENCIES, "country", "currency"),
        ("feminines", FEMININES, "male", "female"),
        ("nouns", NOUNS, "verb", "noun"),
        ("romans", ROMANS, "number", "roman"),
    ):
        if only and name not in only:
            continue
        rows = [{field: k, answer: v} for k, v in pairs(text)]
        random.Random(name).shuffle(rows)
        path = out / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        files.append(path)
        print(f"{path}: {len(rows)} items")
    return files


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "heldout"), sys.argv[2:])
