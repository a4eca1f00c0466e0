/**
 * The most common passwords of public breach corpora (RockYou, the SecLists top lists, NCSC's "100k most common"
 * head), lowercase. A password equal to one of them (case-insensitively) is refused whatever its length.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  `123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball abc123 football monkey
letmein 696969 shadow master 666666 qwertyuiop 123321 mustang 1234567890 michael 654321 superman 1qaz2wsx 7777777
121212 000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm asdfgh hunter buster soccer harley batman andrew
tigger sunshine iloveyou 2000 charlie robert thomas hockey ranger daniel starwars klaster 112233 george computer
michelle jessica pepper 1111 zxcvbn 555555 11111111 131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess
joshua cheese amanda summer love ashley nicole chelsea biteme matthew access yankees 987654321 dallas austin thunder
taylor matrix mobilemail mom monitor monitoring montana moon moscow william corvette hello martin heather secret
merlin diamond 1234qwer gfhjkm hammer silver 222222 88888888 anthony justin test bailey q1w2e3r4t5 patrick internet
scooter orange 11111 golfer cookie richard samantha bigdog guitar jackson whatever mickey chicken sparky snoopy maverick
phoenix camaro peanut morgan welcome falcon cowboy ferrari samsung andrea smokey steelers joseph mercedes dakota arsenal
eagles melissa boomer booboo spider nascar monster tigers yellow xxxxxx 123123123 gateway marina diablo bulldog qwer1234
compaq purple hardcore banana junior hannah 123654 porsche lakers iceman money cowboys 987654 london tennis 999999
ncc1701 coffee scooby 0000 miller boston q1w2e3r4 brandon yamaha chester mother forever johnny edward 333333 oliver
redsox player nikita knight fender barney midnight please brandy chicago badboy slayer rangers charles angel flower
bigdaddy rabbit wizard bigdick jasper enter rachel chris steven winner adidas victoria natasha 1q2w3e4r jasmine winter
prince panties marine ghbdtn fishing cocacola casper james 232323 raiders 888888 marlboro gandalf asdfasdf crystal
87654321 12344321 golden 8675309 blowme qwerty123 password1 password123 passw0rd p@ssw0rd p@ssword admin admin123
administrator root toor changeme letmein123 welcome1 welcome123 abc12345 abcd1234 1q2w3e 1q2w3e4r5t zaq12wsx
qwe123 qwert qwertyu 1qazxsw2 iloveyou1 princess1 sunshine1 football1 monkey1 charlie1 baseball1 dragon1 shadow1
master1 superman1 michael1 jordan23 trustno1! hello123 hello1 login guest default secret123 password! password1!
passwordpassword 1234512345 12341234 11223344 qwertyqwerty asdf1234 asdfghjkl zxcvbnm1 qazwsxedc 1qaz2wsx3edc
mypassword mypass letmein1 computer1 internet1 starwars1 pokemon naruto whatever1 loveyou lovely babygirl liverpool
chocolate anthony1 butterfly purple1 jesus jesus1 blessed angel1 friends soccer1 hottie sweety 654321a 123abc abc123456
a123456 a12345678 123456a 123456789a 1234567a 12345a qwerty1 qwerty12 password12 password2 password3 pass123 pass1234
passw0rd1 welcome2 summer2024 summer2025 winter2024 spring2024 autumn2024 fall2024 january february march april may
june july august september october november december monday tuesday sunday saturday friday mailroom mailroom123
postmaster webmaster hostmaster email mail mailbox 000000000 0123456789 0987654321 1111111111 123456789012
1234567891 9876543210 99999999 00000000 12121212 123454321 147258369 159357 741852963 147258 258456 a1b2c3 a1b2c3d4
aa123456 abcdef abcdefg abcdefgh abcdefghi abc qwerty1234 q1w2e3 zxc123 zxcv1234 asd123 asdasd asdqwe123 qweasd
qweasdzxc 1qaz@wsx !qaz2wsx p4ssw0rd pa55word pa55w0rd secret1 trustme letmeinnow opensesame iloveu iloveyou2
fuckyou fuckyou1 fuckoff shit bitch asshole sexy sex hunter2 hunter12 killer1 dragon12 monkey12 ninja ninja123
samsung1 apple apple123 google google123 facebook twitter linkedin yahoo hotmail gmail outlook microsoft windows
linux ubuntu server database oracle mysql postgres postgresql testtest test123 test1234 tester testing demo demo123
user user123 user1234 temp temp123 temppass changeit changeme1 changeme123 newpassword newpass qwerty!
`
    .split(/\s+/)
    .filter(Boolean),
);
