import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NameExhaustedError,
  NamingError,
  allocateName,
  baseLocalPart,
  candidateNames,
  displayNameFor,
  givenNameFor,
  knownBaseLocalParts,
  transliterate,
  unspellableLetter,
  type NameCandidate,
} from '../../src/domain/naming';
import { APOSTROPHE_LETTERS } from '../../src/domain/text';

const domains = { upnDomain: 'kunta.fi', mailDomain: 'posti.kunta.fi' };

interface NameCase {
  why: string;
  firstNames: string;
  callingName?: string;
  lastName: string;
  local: string;
  /** Expected sAMAccountName when it differs from the local part (cut to 20). */
  sam?: string;
}

const cases: NameCase[] = [
  { why: 'plain Finnish name', firstNames: 'Matti', lastName: 'Virtanen', local: 'matti.virtanen' },
  {
    why: 'double first names use the first',
    firstNames: 'Matti Juhani',
    lastName: 'Virtanen',
    local: 'matti.virtanen',
  },
  {
    why: 'hyphenated first name stays whole; ä → a',
    firstNames: 'Anna-Maija',
    lastName: 'Ääpälä',
    local: 'anna-maija.aapala',
  },
  {
    why: 'hyphenated compound among several first names',
    firstNames: 'Anna-Maija Liisa',
    lastName: 'Ääpälä',
    local: 'anna-maija.aapala',
  },
  {
    why: 'calling name wins over first names',
    firstNames: 'Juha-Pekka Olavi',
    callingName: 'Olli',
    lastName: 'Korhonen',
    local: 'olli.korhonen',
  },
  {
    why: 'calling name that is the second first name',
    firstNames: 'Johanna Sofia',
    callingName: 'Sofia',
    lastName: 'Lindström',
    local: 'sofia.lindstrom',
  },
  {
    why: 'empty calling name falls back to first names',
    firstNames: 'Pekka',
    callingName: '',
    lastName: 'Nieminen',
    local: 'pekka.nieminen',
  },
  {
    why: 'blank calling name falls back to first names',
    firstNames: 'Pekka Ilmari',
    callingName: '   ',
    lastName: 'Nieminen',
    local: 'pekka.nieminen',
  },
  {
    why: 'Swedish-speaking Finn: å and ö',
    firstNames: 'Åsa',
    lastName: 'Söderström',
    local: 'asa.soderstrom',
  },
  { why: 'å at the start of both names', firstNames: 'Åke', lastName: 'Åkesson', local: 'ake.akesson' },
  {
    why: 'Swedish nobiliary particle joins the surname',
    firstNames: 'Märta-Liisa',
    lastName: 'af Ekström',
    local: 'marta-liisa.afekstrom',
    sam: 'marta-liisa.afekstro',
  },
  { why: 'ü and ö (German)', firstNames: 'Jörg', lastName: 'Müller', local: 'jorg.muller' },
  { why: 'ß → ss', firstNames: 'Heinz', lastName: 'Großmann', local: 'heinz.grossmann' },
  { why: 'ø (Danish/Norwegian)', firstNames: 'Søren', lastName: 'Kierkegaard', local: 'soren.kierkegaard' },
  { why: 'Ø upper case and ø', firstNames: 'Ørjan', lastName: 'Bjørnstad', local: 'orjan.bjornstad' },
  { why: 'æ → ae, upper and lower case', firstNames: 'Ægir', lastName: 'Dæhlie', local: 'aegir.daehlie' },
  { why: 'é and è', firstNames: 'Renée', lastName: 'Lefèvre', local: 'renee.lefevre' },
  { why: 'é in both names', firstNames: 'Hélène', lastName: 'Bérard', local: 'helene.berard' },
  { why: 'other marks drop via NFKD: ë ñ', firstNames: 'Zoë', lastName: 'Saldaña', local: 'zoe.saldana' },
  { why: 'Turkish ç ğ decompose', firstNames: 'Çağlar', lastName: 'Öztürk', local: 'caglar.ozturk' },
  { why: 'Estonian õ decomposes', firstNames: 'Ülle', lastName: 'Õun', local: 'ulle.oun' },
  {
    why: 'š (Finnish loan spelling) decomposes',
    firstNames: 'Dmitri',
    lastName: 'Šostakovitš',
    local: 'dmitri.sostakovits',
  },
  {
    why: 'space inside the surname is dropped',
    firstNames: 'Georg Henrik',
    lastName: 'von Wright',
    local: 'georg.vonwright',
  },
  { why: 'multi-word surname', firstNames: 'Eva', lastName: 'De la Cruz', local: 'eva.delacruz' },
  { why: 'ASCII apostrophe dropped', firstNames: 'Jean', lastName: "D'Artagnan", local: 'jean.dartagnan' },
  {
    why: 'typographic apostrophe ’ dropped; á decomposes',
    firstNames: 'Seán',
    lastName: 'O’Brien',
    local: 'sean.obrien',
  },
  {
    why: 'backtick used as apostrophe dropped',
    firstNames: 'Kalle',
    lastName: 'O`Neill',
    local: 'kalle.oneill',
  },
  {
    why: 'modifier-letter apostrophe ʼ and a space dropped',
    firstNames: 'Jean-Luc',
    lastName: 'Dʼ Artagnan',
    local: 'jean-luc.dartagnan',
  },
  { why: 'dot in the surname is not kept', firstNames: 'John', lastName: 'St. Clair', local: 'john.stclair' },
  // Sámi: á č š decompose; đ ŋ ŧ have no decomposition: the rule spells them (issue 10: they used
  // to be dropped, "Čuđe" → "cue").
  { why: 'Sámi á č decompose, đ → d', firstNames: 'Áile', lastName: 'Čuđe', local: 'aile.cude' },
  { why: 'Sámi ŋ → n', firstNames: 'Piera', lastName: 'Ŋanjal', local: 'piera.nanjal' },
  {
    why: 'Sámi name in Finnish letters',
    firstNames: 'Niillas',
    lastName: 'Valkeapää',
    local: 'niillas.valkeapaa',
  },
  // Polish ł has no decomposition either: any-ascii spells it (it used to be dropped).
  { why: 'Polish ł → l, ą decomposes', firstNames: 'Łukasz', lastName: 'Wąsik', local: 'lukasz.wasik' },
  {
    why: 'extra whitespace around and between names',
    firstNames: '  Matti   Juhani ',
    lastName: '  Virtanen ',
    local: 'matti.virtanen',
  },
  {
    why: 'tab between first names',
    firstNames: 'Matti\tJuhani',
    lastName: 'Virtanen',
    local: 'matti.virtanen',
  },
  {
    why: 'no-break space between first names',
    firstNames: 'Anna\u00a0Maija',
    lastName: 'Virta',
    local: 'anna.virta',
  },
  { why: 'upper-case input', firstNames: 'MATTI', lastName: 'VIRTANEN', local: 'matti.virtanen' },
  { why: 'upper-case Nordic letters', firstNames: 'ÅSA', lastName: 'ÖSTERGÅRD', local: 'asa.ostergard' },
  {
    why: 'full-width letters fold via NFKD',
    firstNames: 'Ｍａｔｔｉ',
    lastName: 'Ｖｉｒｔａｎｅｎ',
    local: 'matti.virtanen',
  },
  {
    why: 'non-breaking hyphen U+2011 counts as a hyphen',
    firstNames: 'Anna\u2011Maija',
    lastName: 'Virta',
    local: 'anna-maija.virta',
  },
  {
    why: 'repeated and edge hyphens collapse and trim',
    firstNames: '-Anna-',
    lastName: '--Virta--nen-',
    local: 'anna.virta-nen',
  },
  {
    why: 'long name cut to 20',
    firstNames: 'Aleksanteri',
    lastName: 'Hämäläinen-Lindqvist',
    local: 'aleksanteri.hamalainen-lindqvist',
    sam: 'aleksanteri.hamalain',
  },
  {
    why: 'double-barrelled surname cut to exactly 20',
    firstNames: 'Anna-Maija Liisa',
    lastName: 'Ääpälä-Öhman',
    local: 'anna-maija.aapala-ohman',
    sam: 'anna-maija.aapala-oh',
  },
  {
    why: 'cut ending in "." is trimmed',
    firstNames: 'Sirkka-Liisa-Helena',
    lastName: 'Virtanen',
    local: 'sirkka-liisa-helena.virtanen',
    sam: 'sirkka-liisa-helena',
  },
  {
    why: 'cut ending in "-" is trimmed',
    firstNames: 'Katriina',
    lastName: 'Hämäläinen-Virtanen',
    local: 'katriina.hamalainen-virtanen',
    sam: 'katriina.hamalainen',
  },
];

// Real names from Finland's population, in the spelling the population register and HR keep:
// [origin, first names, calling name, last name, expected local part]. None may lose a letter.
const populationNames: [string, string, string | undefined, string, string][] = [
  ['fi', 'Matti Juhani', undefined, 'Virtanen', 'matti.virtanen'],
  ['fi', 'Aino', undefined, 'Mäkinen', 'aino.makinen'],
  ['fi', 'Väinö', undefined, 'Hämäläinen', 'vaino.hamalainen'],
  ['fi', 'Anna-Maija Liisa', undefined, 'Ääpälä', 'anna-maija.aapala'],
  ['fi', 'Tuomas', undefined, 'Kärkkäinen', 'tuomas.karkkainen'],
  ['fi', 'Päivi Annikki', 'Annikki', 'Heikkilä', 'annikki.heikkila'],
  ['fi', 'Jyrki', undefined, 'Öhman', 'jyrki.ohman'],
  ['fi', 'Eeva-Liisa', undefined, 'Pöyhönen', 'eeva-liisa.poyhonen'],
  ['fi', 'Sakari', undefined, 'Ylä-Mononen', 'sakari.yla-mononen'],
  ['fi', 'Kyösti', undefined, 'Sääskilahti', 'kyosti.saaskilahti'],
  ['sv', 'Åsa', undefined, 'Söderström', 'asa.soderstrom'],
  ['sv', 'Björn Erik', undefined, 'Ekström', 'bjorn.ekstrom'],
  ['sv', 'Märta', undefined, 'af Forselles', 'marta.afforselles'],
  ['sv', 'Gunnel', undefined, 'von Wright', 'gunnel.vonwright'],
  ['sv', 'Linnéa', undefined, 'Åkerblom', 'linnea.akerblom'],
  ['sv', 'Carl-Gustaf', undefined, 'Mannerheim', 'carl-gustaf.mannerheim'],
  ['sv', 'Ulla-Britt', undefined, 'Sjöblom', 'ulla-britt.sjoblom'],
  ['se', 'Áile', undefined, 'Čuđe', 'aile.cude'],
  ['se', 'Iŋgá Máret', undefined, 'Guttorm', 'inga.guttorm'],
  ['se', 'Ánte', undefined, 'Näkkäläjärvi', 'ante.nakkalajarvi'],
  ['se', 'Niillas', undefined, 'Aikio', 'niillas.aikio'],
  ['se', 'Biret', undefined, 'Ŧuolla', 'biret.tuolla'],
  ['se', 'Jovnna', undefined, 'Ǥaŋŋaš', 'jovnna.gannas'],
  ['se', 'Heaika', undefined, 'Ǯiehcci', 'heaika.zhiehcci'],
  ['sms', 'Kaisa', undefined, 'Moshnikoff', 'kaisa.moshnikoff'],
  ['sms', 'Jääʹnn', undefined, 'Feodoroff', 'jaann.feodoroff'],
  ['sms', 'Ǩeʹrttu', undefined, 'Gauriloff', 'kerttu.gauriloff'],
  ['sms', 'Mattâʹj', undefined, 'Ʒuõʹlj', 'mattaj.zhuolj'],
  ['et', 'Jüri', undefined, 'Õunapuu', 'juri.ounapuu'],
  ['et', 'Tõnis', undefined, 'Mägi', 'tonis.magi'],
  ['et', 'Ülle', undefined, 'Kõrts', 'ulle.korts'],
  ['et', 'Kadri', undefined, 'Šmidt', 'kadri.smidt'],
  ['et', 'Märt', undefined, 'Žukov', 'mart.zukov'],
  ['ru', 'Dmitri', undefined, 'Ivanov', 'dmitri.ivanov'],
  ['ru', 'Jelena', undefined, 'Kuznetsova', 'jelena.kuznetsova'],
  ['ru', 'Aleksandr', undefined, 'Šostakovitš', 'aleksandr.sostakovits'],
  ['ru', 'Natalja', undefined, 'Žukova', 'natalja.zukova'],
  ['ru', 'Ljudmila', undefined, 'Ščerbakova', 'ljudmila.scerbakova'],
  ['ru', 'Jevgeni', undefined, 'Gorbatšov', 'jevgeni.gorbatsov'],
  ['pl', 'Łukasz', undefined, 'Wąsik', 'lukasz.wasik'],
  ['pl', 'Małgorzata', undefined, 'Szczęśniak', 'malgorzata.szczesniak'],
  ['pl', 'Paweł', undefined, 'Wróbel', 'pawel.wrobel'],
  ['pl', 'Zdzisław', undefined, 'Łęcki', 'zdzislaw.lecki'],
  ['pl', 'Agnieszka', undefined, 'Dąbrowska', 'agnieszka.dabrowska'],
  ['pl', 'Grzegorz', undefined, 'Kaźmierczak', 'grzegorz.kazmierczak'],
  ['vi', 'Thị Hương', 'Hương', 'Nguyễn', 'huong.nguyen'],
  ['vi', 'Văn Đức', undefined, 'Đặng', 'van.dang'],
  ['vi', 'Minh Quân', undefined, 'Phạm', 'minh.pham'],
  ['vi', 'Ngọc Ánh', undefined, 'Trần', 'ngoc.tran'],
  ['vi', 'Thành', undefined, 'Lê', 'thanh.le'],
  ['vi', 'Quốc Bảo', undefined, 'Hoàng', 'quoc.hoang'],
  ['vi', 'Đình Tuấn', undefined, 'Vũ', 'dinh.vu'],
  ['so', 'Cabdullaahi', undefined, 'Maxamed', 'cabdullaahi.maxamed'],
  ['so', 'Faadumo', undefined, 'Cali', 'faadumo.cali'],
  ['so', 'Xaliimo', undefined, 'Warsame', 'xaliimo.warsame'],
  ['so', 'Maxamuud', undefined, 'Xasan', 'maxamuud.xasan'],
  ['so', 'Ruqiya', undefined, "Ba'adle", 'ruqiya.baadle'],
  ['ar', 'Mohammed', undefined, 'Al-Sayed', 'mohammed.al-sayed'],
  ['ar', 'Omar', undefined, 'Ḥaddād', 'omar.haddad'],
  ['ar', 'Zaynab', undefined, 'ʿAbbās', 'zaynab.abbas'],
  ['ar', 'Hussein', undefined, 'Al Khatib', 'hussein.alkhatib'],
  ['ar', 'Aisha', undefined, 'El-Amin', 'aisha.el-amin'],
  ['ar', 'Ṣāliḥ', undefined, 'Ṭāhā', 'salih.taha'],
  ['is', 'Þór', undefined, 'Guðmundsson', 'thor.gudmundsson'],
  ['is', 'Sigríður', undefined, 'Þórðardóttir', 'sigridur.thordardottir'],
  ['is', 'Ævar Þór', undefined, 'Jónsson', 'aevar.jonsson'],
  ['is', 'Guðrún Ósk', undefined, 'Ólafsdóttir', 'gudrun.olafsdottir'],
  ['is', 'Hrafnhildur', undefined, 'Þorsteinsdóttir', 'hrafnhildur.thorsteinsdottir'],
  ['tr', 'Yılmaz', undefined, 'Öztürk', 'yilmaz.ozturk'],
  ['tr', 'İbrahim', undefined, 'Çelik', 'ibrahim.celik'],
  ['tr', 'Şükrü', undefined, 'Doğan', 'sukru.dogan'],
  ['tr', 'Gülşen', undefined, 'Aydın', 'gulsen.aydin'],
  ['tr', 'Ayşe', undefined, 'Kılıç', 'ayse.kilic'],
  ['hr', 'Đorđe', undefined, 'Đoković', 'dorde.dokovic'],
  ['mt', 'Ġorġ', undefined, 'Ħabib', 'gorg.habib'],
  ['fr', 'Maëlle', undefined, 'Lœvenbruck', 'maelle.loevenbruck'],
  ['ku', 'Şêrko', undefined, 'Bêkes', 'serko.bekes'],
  ['hu', 'Zoltán', undefined, 'Szőke', 'zoltan.szoke'],
];

/** Letters that spell something (apostrophe-like letters, as apostrophes, spell nothing). */
const spellingLetters = (s: string) =>
  [...s].filter((ch) => /\p{L}/u.test(ch) && !APOSTROPHE_LETTERS.test(ch));

describe("naming rule: names from Finland's population keep every letter", () => {
  for (const [origin, firstNames, callingName, lastName, local] of populationNames) {
    it(`${origin}: "${firstNames}"${callingName ? ` (${callingName})` : ''} "${lastName}" → ${local}`, () => {
      const name = { firstNames, ...(callingName ? { callingName } : {}), lastName };
      assert.equal(baseLocalPart(name), local);
      // Generic: every letter of the names used spells at least one character.
      for (const part of [callingName ?? firstNames.split(' ')[0]!, lastName]) {
        assert.equal(unspellableLetter(part), undefined);
        for (const letter of spellingLetters(part)) {
          assert.ok(transliterate(letter).length >= 1, `${letter} in ${part} spells nothing`);
        }
      }
    });
  }

  it('the table holds at least 60 names from at least 11 origins', () => {
    assert.ok(populationNames.length >= 60, `only ${populationNames.length}`);
    assert.ok(new Set(populationNames.map((n) => n[0])).size >= 11);
  });

  it('every letter of every name in both tables spells at least one character', () => {
    const all = [
      ...populationNames.flatMap((n) => [n[1], n[2] ?? '', n[3]]),
      ...cases.flatMap((c) => [c.firstNames, c.lastName]),
    ];
    for (const letter of new Set(all.flatMap(spellingLetters))) {
      assert.ok(/[a-z0-9]/.test(transliterate(letter)), `${letter} spells nothing`);
    }
  });
});

describe('knownBaseLocalParts: a rule change alone is not a name change', () => {
  it('a name the old rule spelled the same has one known base', () => {
    assert.deepEqual(knownBaseLocalParts({ firstNames: 'Matti', lastName: 'Virtanen' }), ['matti.virtanen']);
  });

  it('a name the old rule lost letters of keeps its old base as known (no new primary address)', () => {
    assert.deepEqual(knownBaseLocalParts({ firstNames: 'Łukasz', lastName: 'Wąsik' }), [
      'lukasz.wasik',
      'ukasz.wasik',
    ]);
    assert.deepEqual(knownBaseLocalParts({ firstNames: 'Đorđe', lastName: 'Đoković' }), [
      'dorde.dokovic',
      'ore.okovic',
    ]);
  });
});

describe('naming rule: local part and sAMAccountName', () => {
  for (const c of cases) {
    const calling = c.callingName !== undefined ? ` (calling name "${c.callingName}")` : '';
    it(`${c.why}: "${c.firstNames}"${calling} "${c.lastName}" → ${c.sam ?? c.local}`, () => {
      const name = { firstNames: c.firstNames, callingName: c.callingName, lastName: c.lastName };
      const base = baseLocalPart(name);
      assert.equal(base, c.local);
      const names = candidateNames(base, 1, domains);
      assert.equal(names.localPart, c.local);
      assert.equal(names.sAMAccountName, c.sam ?? c.local);
      assert.ok(names.sAMAccountName.length <= 20);
    });
  }

  it('the table covers at least 35 names', () => {
    assert.ok(cases.length >= 35, `only ${cases.length} cases`);
  });
});

describe('transliterate', () => {
  it('maps each letter the rule lists, in both cases', () => {
    assert.equal(transliterate('åäöüøæßéè'), 'aaouoaessee');
    assert.equal(transliterate('ÅÄÖÜØÆẞÉÈ'), 'aaouoaessee');
  });

  it('drops every kind of apostrophe and all whitespace', () => {
    assert.equal(transliterate("a'b’cʼd`e f\tg"), 'abcdefg');
  });

  it('keeps digits and hyphens but nothing else', () => {
    assert.equal(transliterate('Abc-123_x.y!z'), 'abc-123xyz');
  });

  it('spells every Latin letter without a decomposition (ł đ ð þ ħ ı ŋ œ ŧ ǥ ʒ ǯ)', () => {
    assert.equal(transliterate('ł đ ð þ ħ ı ŋ œ ŧ ǥ ʒ ǯ'), 'lddthhinoetgzhzh');
  });

  it('transliterates other scripts too (validation decides whether the policy allows them)', () => {
    assert.equal(transliterate('Дмитрий'), 'dmitrii'); // й decomposes to и + breve first
    assert.equal(transliterate('Ελένη'), 'eleni');
    assert.equal(transliterate('李'), 'li');
  });
});

describe('givenNameFor and displayNameFor', () => {
  it('uses the calling name when present', () => {
    assert.equal(givenNameFor({ firstNames: 'Juha-Pekka Olavi', callingName: 'Olli' }), 'Olli');
  });

  it('uses the first token of the first names otherwise, keeping a hyphenated compound whole', () => {
    assert.equal(givenNameFor({ firstNames: ' Anna-Maija Liisa' }), 'Anna-Maija');
  });

  it('displays the given and last name in the original spelling', () => {
    assert.equal(displayNameFor({ firstNames: 'Anna-Maija Liisa', lastName: 'Ääpälä' }), 'Anna-Maija Ääpälä');
  });

  it('displays the calling name, with whitespace tidied', () => {
    assert.equal(
      displayNameFor({ firstNames: 'Georg Henrik', callingName: ' Georg ', lastName: '  von   Wright ' }),
      'Georg von Wright',
    );
  });
});

describe('names the rule cannot spell', () => {
  const expectNamingError = (name: Parameters<typeof baseLocalPart>[0], field: NamingError['field']) =>
    assert.throws(
      () => baseLocalPart(name),
      (err: unknown) => err instanceof NamingError && err.field === field && err.message.includes(field),
    );

  it('a first name with a letter no table spells (ꝫ) → NamingError naming firstNames', () => {
    expectNamingError({ firstNames: 'Maꝫ', lastName: 'Virtanen' }, 'firstNames');
  });

  it('a calling name with such a letter → NamingError naming callingName', () => {
    expectNamingError({ firstNames: 'Matti', callingName: 'Ƹa', lastName: 'Virtanen' }, 'callingName');
  });

  it('a last name with such a letter → NamingError naming lastName, with its code point', () => {
    assert.throws(
      () => baseLocalPart({ firstNames: 'Li', lastName: 'ꜩꝯ' }),
      (err: unknown) => err instanceof NamingError && err.field === 'lastName' && /U\+A76F/.test(err.message),
    );
  });

  it('a first name that is only an apostrophe → NamingError naming firstNames', () => {
    expectNamingError({ firstNames: "'", lastName: 'Virtanen' }, 'firstNames');
  });

  it('a last name of only hyphens → NamingError naming lastName', () => {
    expectNamingError({ firstNames: 'Matti', lastName: '---' }, 'lastName');
  });
});

describe('collision candidates', () => {
  it('n = 1 is the base with UPN and mail on their domains', () => {
    assert.deepEqual(candidateNames('matti.virtanen', 1, domains), {
      localPart: 'matti.virtanen',
      cn: 'matti.virtanen',
      sAMAccountName: 'matti.virtanen',
      userPrincipalName: 'matti.virtanen@kunta.fi',
      mail: 'matti.virtanen@posti.kunta.fi',
    });
  });

  it('n = 2 appends 2 to every name', () => {
    assert.deepEqual(candidateNames('matti.virtanen', 2, domains), {
      localPart: 'matti.virtanen2',
      cn: 'matti.virtanen2',
      sAMAccountName: 'matti.virtanen2',
      userPrincipalName: 'matti.virtanen2@kunta.fi',
      mail: 'matti.virtanen2@posti.kunta.fi',
    });
  });

  const long = 'aleksanteri.hamalainen-lindqvist';
  for (const [n, sam] of [
    [2, 'aleksanteri.hamalai2'],
    [3, 'aleksanteri.hamalai3'],
    [10, 'aleksanteri.hamala10'],
    [100, 'aleksanteri.hamal100'],
  ] as const) {
    it(`n = ${n} on a long name: the stem gives way so the digits fit in 20 (${sam})`, () => {
      const c = candidateNames(long, n, domains);
      assert.equal(c.sAMAccountName, sam);
      assert.equal(c.sAMAccountName.length, 20);
      assert.equal(c.localPart, `${long}${n}`);
      assert.equal(c.userPrincipalName, `${long}${n}@kunta.fi`);
    });
  }

  it('a 25-character base with n = 2 keeps 19 characters of the stem and then 2', () => {
    const base = 'kristiina.lindqvist-aalto';
    assert.equal(base.length, 25);
    assert.equal(candidateNames(base, 1, domains).sAMAccountName, 'kristiina.lindqvist');
    assert.equal(candidateNames(base, 2, domains).sAMAccountName, 'kristiina.lindqvist2');
  });

  it('n = 2 trims a "." the shorter cut leaves at the end of the stem', () => {
    assert.equal(
      candidateNames('marja-liisa-helena.virtanen', 1, domains).sAMAccountName,
      'marja-liisa-helena.v',
    );
    assert.equal(
      candidateNames('marja-liisa-helena.virtanen', 2, domains).sAMAccountName,
      'marja-liisa-helena2',
    );
  });

  it('n = 2 on a long name that was trimmed at n = 1 uses the full 19 characters', () => {
    assert.equal(
      candidateNames('katriina.hamalainen-virtanen', 2, domains).sAMAccountName,
      'katriina.hamalainen2',
    );
    assert.equal(
      candidateNames('katriina.hamalainen-virtanen', 10, domains).sAMAccountName,
      'katriina.hamalaine10',
    );
  });

  it('rejects n below 1 or not an integer', () => {
    assert.throws(() => candidateNames('matti.virtanen', 0, domains), RangeError);
    assert.throws(() => candidateNames('matti.virtanen', 1.5, domains), RangeError);
  });
});

describe('allocateName', () => {
  const takenBySam = (taken: string[]) => (c: NameCandidate) => taken.includes(c.sAMAccountName);

  it('a free base name is allocated as is', () => {
    assert.equal(allocateName('matti.virtanen', domains, takenBySam([])).localPart, 'matti.virtanen');
  });

  it('with matti.virtanen and matti.virtanen2 taken, the next person gets matti.virtanen3', () => {
    const c = allocateName('matti.virtanen', domains, takenBySam(['matti.virtanen', 'matti.virtanen2']));
    assert.equal(c.localPart, 'matti.virtanen3');
    assert.equal(c.mail, 'matti.virtanen3@posti.kunta.fi');
  });

  it('takes the smallest free n, even when a higher one is also free', () => {
    const taken = ['matti.virtanen', 'matti.virtanen3'];
    assert.equal(allocateName('matti.virtanen', domains, takenBySam(taken)).localPart, 'matti.virtanen2');
  });

  it('a collision on mail alone also moves to the next n', () => {
    const c = allocateName('matti.virtanen', domains, (x) => x.mail === 'matti.virtanen@posti.kunta.fi');
    assert.equal(c.sAMAccountName, 'matti.virtanen2');
  });

  it('two long names sharing their first 20 characters: the second gets n = 2', () => {
    const first = candidateNames('aleksanteri.hamalainen', 1, domains);
    const c = allocateName('aleksanteri.hamalainen-lindqvist', domains, takenBySam([first.sAMAccountName]));
    assert.equal(c.sAMAccountName, 'aleksanteri.hamalai2');
    assert.equal(c.localPart, 'aleksanteri.hamalainen-lindqvist2');
  });

  it('asks about candidates in order and stops at the first free one', () => {
    const asked: string[] = [];
    allocateName('matti.virtanen', domains, (c) => {
      asked.push(c.localPart);
      return asked.length < 3;
    });
    assert.deepEqual(asked, ['matti.virtanen', 'matti.virtanen2', 'matti.virtanen3']);
  });

  it('every candidate up to maxN taken → NameExhaustedError', () => {
    let calls = 0;
    assert.throws(
      () =>
        allocateName(
          'matti.virtanen',
          domains,
          () => {
            calls++;
            return true;
          },
          5,
        ),
      (err: unknown) => err instanceof NameExhaustedError && err.maxN === 5 && err.base === 'matti.virtanen',
    );
    assert.equal(calls, 5);
  });
});
