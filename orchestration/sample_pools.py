"""Word lists and weights of the sample-data generator: the realistic (and messy) values it
draws from. Plain data; sample_values.py and sample_rows.py hold the logic."""

from __future__ import annotations

from collections.abc import Callable

COUNTRY_VARIANTS: dict[str, tuple[str, ...]] = {
    "United States": ("USA", "U.S.", "US", "us", "U.S.A.", "United States of America",
                      "UNITED STATES", "united states"),
    "United Kingdom": ("UK", "U.K.", "Great Britain", "GB", "uk", "UNITED KINGDOM"),
    "Germany": ("Deutschland", "DE", "GERMANY", "germany"),
    "France": ("FR", "FRANCE", "france"),
    "Canada": ("CANADA", "canada"),
    "India": ("INDIA", "india"),
    "Australia": ("AU", "AUSTRALIA"),
    "Netherlands": ("The Netherlands", "Holland", "NL", "netherlands"),
    "Spain": ("España", "ES", "SPAIN"),
    "Brazil": ("Brasil", "BR", "brazil"),
    "Sweden": ("Sverige", "SE", "sweden"),
    "Switzerland": ("Schweiz", "CH", "Suisse"),
    "Singapore": ("SG", "SINGAPORE"),
    "Ireland": ("IE", "Republic of Ireland", "IRELAND"),
    "Japan": ("JP", "JAPAN"),
    "Israel": ("IL", "ISRAEL"),
}
# Seniority column values written: canonical and display form (the column is often empty).
SENIORITY_FORMS: dict[str, tuple[str, str]] = {
    s: (s, d) for s, d in (
        ("owner", "Owner"), ("founder", "Founder"), ("c_suite", "C-Suite"),
        ("partner", "Partner"), ("vp", "VP"), ("head", "Head"), ("director", "Director"),
        ("manager", "Manager"), ("lead", "Lead"), ("senior", "Senior"), ("entry", "Entry"),
        ("intern", "Intern"))
}

Location = tuple[str, str, str, str]  # city, state, country, phone country code
# country: (weight, phone code, "City|State" ...)
LOCATIONS: dict[str, tuple[float, str, tuple[str, ...]]] = {
    "United States": (50, "1", (
        "New York|New York", "San Francisco|California", "Los Angeles|California",
        "Austin|Texas", "Seattle|Washington", "Boston|Massachusetts", "Chicago|Illinois",
        "Denver|Colorado", "Atlanta|Georgia", "Miami|Florida", "Portland|Oregon",
        "Salt Lake City|Utah", "Raleigh|North Carolina", "Dallas|Texas", "San Diego|California",
        "Nashville|Tennessee", "Minneapolis|Minnesota", "Philadelphia|Pennsylvania")),
    "United Kingdom": (10, "44", (
        "London|England", "Manchester|England", "Edinburgh|Scotland", "Bristol|England",
        "Cambridge|England", "Belfast|Northern Ireland")),
    "Germany": (7, "49", ("Berlin|Berlin", "München|Bavaria", "Hamburg|Hamburg",
                          "Köln|North Rhine-Westphalia", "Frankfurt am Main|Hesse",
                          "Düsseldorf|North Rhine-Westphalia")),
    "Canada": (5, "1", ("Toronto|Ontario", "Vancouver|British Columbia", "Montréal|Quebec")),
    "India": (5, "91", ("Bengaluru|Karnataka", "Mumbai|Maharashtra", "Hyderabad|Telangana",
                        "Pune|Maharashtra")),
    "France": (4, "33", ("Paris|Île-de-France", "Lyon|Auvergne-Rhône-Alpes", "Toulouse|Occitanie")),
    "Australia": (3, "61", ("Sydney|New South Wales", "Melbourne|Victoria")),
    "Netherlands": (3, "31", ("Amsterdam|North Holland", "Rotterdam|South Holland")),
    "Spain": (2, "34", ("Madrid|Community of Madrid", "Barcelona|Catalonia")),
    "Brazil": (2, "55", ("São Paulo|São Paulo", "Rio de Janeiro|Rio de Janeiro")),
    "Sweden": (2, "46", ("Stockholm|Stockholm County", "Malmö|Skåne")),
    "Switzerland": (2, "41", ("Zürich|Zürich", "Geneva|Geneva")),
    "Singapore": (2, "65", ("Singapore|",)),
    "Ireland": (1.5, "353", ("Dublin|Leinster", "Cork|Munster")),
    "Japan": (1, "81", ("Tokyo|Tokyo", "Osaka|Osaka")),
    "Israel": (1, "972", ("Tel Aviv|Tel Aviv District",)),
}
FIRST_NAMES = (  # noqa: SIM905 - a word list reads better as text
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew "
    "Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa Timothy Deborah Ronald "
    "Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy "
    "Nicholas Angela Eric Anna Stephen Brenda Justin Emma Scott Nicole Brandon Helen Benjamin "
    "Samantha Samuel Katherine Gregory Christine Alexander Rachel Patrick Catherine Jack Maria "
    "Tyler Diane Aaron Ruth Priya Rahul Wei Li Hiroshi Yuki Ahmed Fatima Omar Olivia Liam Noah "
    "Ava Sophia Lucas Mia Ethan Isabella Oliver Charlotte Amelia Harper Elijah Lars Ingrid "
    "Pieter Sven Anja Hans Claire Pierre Marco Giulia Diego Lucia Carlos Ana Aisha Mateo Leah "
    "José Zoë François Chloé Björn Søren Łukasz Jürgen"
).split()
LAST_NAMES = (  # noqa: SIM905 - a word list reads better as text
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Shah "
    "Kumar Singh Chen Wang Zhang Liu Kim Park Tanaka Sato Suzuki Cohen Levi Murphy Kelly "
    "Sullivan Walsh Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Dubois Laurent "
    "Moreau Rossi Russo Bianchi Ferrari Jansen Visser Berg Larsen Nielsen Johansson Andersson "
    "Silva Santos Costa Pereira Novak Kowalski Ivanov Petrov O'Brien Smith-Jones "
    "Müller García Nguyễn Østergaard Dvořák Szabó Gonçalves Lefèvre"
).split() + ["van der Berg", "De La Cruz"]
NICKNAMES = {"William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Katherine": "Kate",
              "Michael": "Mike", "Jennifer": "Jen", "Richard": "Rick", "Margaret": "Peggy"}
FOLD_EXTRA = str.maketrans({"ø": "o", "ł": "l", "æ": "ae", "đ": "d", "'": None, " ": None})
# function, departments, individual-contributor roles, chief title
FUNCTIONS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("Engineering", ("engineering",), ("Software Engineer", "Backend Engineer",
     "Frontend Developer", "Data Engineer", "DevOps Engineer", "QA Engineer"), "CTO"),
    ("Sales", ("sales",), ("Account Executive", "Sales Development Representative",
     "Sales Engineer"), "Chief Revenue Officer"),
    ("Marketing", ("marketing",), ("Marketing Specialist", "Content Marketer",
     "Growth Marketer"), "CMO"),
    ("Finance", ("finance",), ("Accountant", "Financial Analyst", "Controller"), "CFO"),
    ("Human Resources", ("human_resources",), ("Recruiter", "HR Generalist",
     "Talent Acquisition Partner"), "Chief People Officer"),
    ("Operations", ("operations",), ("Operations Analyst", "Project Coordinator",
     "Business Analyst"), "COO"),
    ("Product", ("product_management",), ("Product Designer", "UX Researcher",
     "Product Analyst"), "Chief Product Officer"),
    ("Customer Success", ("customer_success", "support"), ("Support Specialist",
     "Implementation Consultant"), "Chief Customer Officer"),
    ("IT", ("information_technology",), ("Systems Administrator", "IT Support Specialist",
     "Security Analyst"), "CIO"),
    ("Data", ("data_science", "engineering"), ("Data Scientist", "Data Analyst",
     "Analytics Engineer"), "Chief Data Officer"),
)
# seniority: (weight, templates); {f} is the function, {r} an individual-contributor role
TITLE_TEMPLATES: dict[str, tuple[float, tuple[str, ...]]] = {
    "intern": (4, ("{f} Intern", "Intern, {f}")),
    "entry": (28, ("{r}", "Junior {r}", "Associate {r}")),
    "senior": (20, ("Senior {r}", "Sr. {r}", "Staff {r}", "Principal {r}")),
    "lead": (4, ("Lead {r}", "{r} Team Lead")),
    "manager": (16, ("{f} Manager", "Manager, {f}", "Senior Manager, {f}")),
    "director": (10, ("Director of {f}", "{f} Director", "Director, {f}")),
    "head": (4, ("Head of {f}",)),
    "vp": (6, ("VP of {f}", "Vice President, {f}", "VP {f}", "SVP, {f}")),
    "c_suite": (4, ("{c}",)),
}
EXECUTIVE_TITLES = (("CEO", "c_suite", 0.8), ("Chief Executive Officer", "c_suite", 0.4),
                     ("Founder", "founder", 0.5), ("Co-Founder & CEO", "founder", 0.5),
                     ("Owner", "owner", 0.4), ("Partner", "partner", 0.2),
                     ("Managing Partner", "partner", 0.2))
COMPANY_PREFIXES = (  # noqa: SIM905 - a word list reads better as text
    "Acme Apex Arbor Atlas Aurora Beacon Birch Blue Bright Cascade Cedar Cobalt Comet Crescent "
    "Crimson Delta Ember Evergreen Falcon Fern Firefly Forge Frontier Garnet Glacier Golden "
    "Granite Harbor Helix Horizon Indigo Iron Jade Juniper Keystone Kinetic Lantern Lumen Lunar "
    "Maple Marble Meridian Mosaic Nimbus Noble Northwind Nova Oak Onyx Orbit Pacific Pine "
    "Pinnacle Pioneer Polar Prairie Prism Quantum Quarry Radiant Raven Redwood Ridge River Sable "
    "Sage Sapphire Sierra Silver Solar Spark Spruce Starling Sterling Stone Summit Tidal Timber "
    "Titan Trident Umber Union Vantage Vector Velvet Verde Vertex Violet Vista Willow Wren Zenith"
).split()
COMPANY_SUFFIXES = (  # noqa: SIM905 - a word list reads better as text
    "Analytics Bio Capital Cloud Consulting Data Dynamics Energy Foods Health Industries Insights "
    "Labs Learning Logistics Media Medical Networks Partners Payments Robotics Security Software "
    "Solutions Systems Technologies Therapeutics Ventures Works Group Studio Logic Metrics "
    "Mobility Retail Telecom Finance Commerce Devices"
).split()
INDUSTRIES = (
    "Software Development", "Information Technology & Services", "Financial Services",
    "Hospital & Health Care", "Marketing & Advertising", "Computer & Network Security",
    "E-Learning", "Retail", "Logistics & Supply Chain", "Biotechnology", "Renewables & Environment",
    "Real Estate", "Manufacturing", "Telecommunications", "Insurance", "Consumer Goods",
    "Food & Beverages", "Automotive", "Media Production", "Staffing & Recruiting",
    "Venture Capital & Private Equity", "Management Consulting")
KEYWORDS = (
    "saas", "b2b", "enterprise software", "cloud computing", "analytics", "machine learning",
    "artificial intelligence", "data platform", "fintech", "payments", "e-commerce", "marketplace",
    "cybersecurity", "devops", "digital health", "supply chain", "marketing automation", "crm",
    "hr tech", "edtech", "proptech", "insurtech", "open source", "developer tools", "mobile apps",
    "iot", "robotics", "climate tech", "clean energy", "biotech")
TECHNOLOGIES = (
    "Salesforce", "HubSpot", "Google Analytics", "AWS", "Microsoft Azure", "Google Cloud", "Slack",
    "Zendesk", "Intercom", "Stripe", "Shopify", "WordPress", "React", "Node.js", "Python",
    "Kubernetes", "Docker", "Snowflake", "Segment", "Marketo", "Okta", "Jira", "GitHub", "Datadog",
    "Cloudflare", "Twilio", "Mailchimp", "Gusto", "Workday", "PostgreSQL")
LEGAL_FORMS = ("", " Inc", " Inc.", ", Inc.", " LLC", " Ltd", " Corp", " Co.")
LEGAL_WEIGHTS = (40, 10, 10, 8, 12, 8, 8, 4)
WEBSITE_FORMS = ("https://www.{}", "https://{}", "http://www.{}/", "{}", "www.{}",
                  "https://www.{}/about", "https://{}:443/", "HTTPS://WWW.{}")
WEBSITE_WEIGHTS = (40, 20, 8, 12, 8, 6, 3, 3)
EMPLOYEE_BUCKETS = ((1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000),
                     (5001, 10000), (10001, 50000))
EMPLOYEE_WEIGHTS = (15, 30, 25, 12, 8, 6, 2, 2)
REVENUE_BOUNDS = (10**5, 5 * 10**5, 10**6, 10**7, 5 * 10**7, 10**8, 5 * 10**8, 10**9, 10**10,
                   10**11, 10**12)
CONTACT_LINKEDIN_FORMS = ("https://www.linkedin.com/in/{}", "http://www.linkedin.com/in/{}",
                          "linkedin.com/in/{}", "https://linkedin.com/in/{}/",
                          "www.linkedin.com/in/{}")
CONTACT_LINKEDIN_WEIGHTS = (55, 4, 8, 8, 5, 20)  # last: no LinkedIn URL
PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")
EMAIL_PATTERNS: tuple[Callable[[str, str], str], ...] = (
    lambda f, la: f"{f}.{la}", lambda f, la: f"{f[0]}{la}", lambda f, la: f,
    lambda f, la: f"{f}{la[0]}", lambda f, la: f"{f}_{la}", lambda f, la: f"{f[0]}.{la}",
    lambda f, la: f"{la}.{f}")
EMAIL_PATTERN_WEIGHTS = (50, 20, 8, 6, 6, 5, 5)
CREATED_FORMATS = ("{d}T{h:02d}:{m:02d}:{s:02d}Z", "{d}", "{d} {h:02d}:{m:02d}:{s:02d}",
                   "{d}T{h:02d}:{m:02d}:{s:02d}+00:00", "{d}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}Z",
                   "{d}T{h:02d}:{m:02d}:{s:02d}+02:00", "{d}T{h:02d}:{m:02d}:{s:02d}-05:00", "")
CREATED_WEIGHTS = (45, 15, 10, 8, 5, 4, 3, 10)
REGIONS = ("EMEA", "North America", "APAC", "DACH", "LATAM")
