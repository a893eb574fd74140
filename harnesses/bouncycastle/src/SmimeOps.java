import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.CRL;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertStore;
import java.security.cert.CertificateFactory;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import javax.activation.CommandMap;
import javax.activation.DataHandler;
import javax.activation.MailcapCommandMap;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.internet.MimeBodyPart;
import javax.mail.internet.MimeMessage;
import javax.mail.internet.MimeMultipart;
import javax.mail.util.ByteArrayDataSource;

import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cms.Attribute;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.cms.CMSAttributes;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.ess.ESSCertIDv2;
import org.bouncycastle.asn1.ess.SigningCertificateV2;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.smime.SMIMECapabilitiesAttribute;
import org.bouncycastle.asn1.smime.SMIMECapability;
import org.bouncycastle.asn1.smime.SMIMECapabilityVector;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSAttributeTableGenerator;
import org.bouncycastle.cms.CMSAuthEnvelopedData;
import org.bouncycastle.cms.CMSAuthEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignerDigestMismatchException;
import org.bouncycastle.cms.CMSVerifierCertificateNotValidException;
import org.bouncycastle.cms.DefaultSignedAttributeTableGenerator;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.RecipientInformationStore;
import org.bouncycastle.cms.SignerInfoGenerator;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyTransAuthEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientId;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.mail.smime.SMIMEEnveloped;
import org.bouncycastle.mail.smime.SMIMEEnvelopedGenerator;
import org.bouncycastle.mail.smime.SMIMESigned;
import org.bouncycastle.mail.smime.SMIMESignedGenerator;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.OutputAEADEncryptor;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.util.Store;

/** The four S/MIME operations through BouncyCastle: bcmail's SMIMESignedGenerator,
 * SMIMEEnvelopedGenerator, SMIMESigned and SMIMEEnveloped over JavaMail, bcpkix's CMS
 * classes where bcmail 1.72 has none (AuthEnvelopedData), and the provider's PKIX
 * CertPathBuilder for the chain. Exit codes (the agent maps them onto status codes):
 * 0 done, 1 usage, 3 unreadable input, 4 unsupported algorithm, 5 cannot decrypt,
 * 6 bad signature, 7 signature good but no path to a trust anchor, 8 signer revoked,
 * 9 no signer certificate in the message, 10 a given file unreadable, 11 unexpected. */
final class SmimeOps {
    static final int EXIT_USAGE = 1;
    static final int EXIT_MALFORMED = 3;
    static final int EXIT_UNSUPPORTED = 4;
    static final int EXIT_DECRYPT = 5;
    static final int EXIT_BAD_SIGNATURE = 6;
    static final int EXIT_UNTRUSTED = 7;
    static final int EXIT_REVOKED = 8;
    static final int EXIT_NO_SIGNER_CERT = 9;
    static final int EXIT_FILES = 10;
    static final int EXIT_INTERNAL = 11;

    private static final String BC = BouncyCastleProvider.PROVIDER_NAME;
    private static final Session SESSION = Session.getInstance(new Properties());

    /** Fails an operation with an exit code and the words to print. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final int code;

        Failure(int code, String message) {
            super(message);
            this.code = code;
        }
    }

    private SmimeOps() {
    }

    /** The mailcap entries bcmail's data content handlers need (as its examples set). */
    static void init() {
        MailcapCommandMap mailcap = (MailcapCommandMap) CommandMap.getDefaultCommandMap();
        String h = "org.bouncycastle.mail.smime.handlers.";
        mailcap.addMailcap("application/pkcs7-signature;; x-java-content-handler=" + h + "pkcs7_signature");
        mailcap.addMailcap("application/pkcs7-mime;; x-java-content-handler=" + h + "pkcs7_mime");
        mailcap.addMailcap("application/x-pkcs7-signature;; x-java-content-handler=" + h + "x_pkcs7_signature");
        mailcap.addMailcap("application/x-pkcs7-mime;; x-java-content-handler=" + h + "x_pkcs7_mime");
        mailcap.addMailcap("multipart/signed;; x-java-content-handler=" + h + "multipart_signed");
        CommandMap.setDefaultCommandMap(mailcap);
    }

    static String version() {
        String mail = SMIMESignedGenerator.class.getPackage().getImplementationVersion();
        return "BouncyCastle " + Security.getProvider(BC).getVersionStr() + " (bcmail "
                + (mail == null ? "unknown" : mail) + ") on Java " + System.getProperty("java.version");
    }

    static int run(Args a, ByteArrayOutputStream out, PrintStream err) throws Exception {
        try {
            switch (a.verb) {
                case "version":
                    out.write((version() + "\n").getBytes(StandardCharsets.UTF_8));
                    return 0;
                case "sign":
                    sign(a);
                    return 0;
                case "encrypt":
                    encrypt(a);
                    return 0;
                case "decrypt":
                    decrypt(a);
                    return 0;
                case "verify":
                    return verify(a, err);
                default:
                    throw new Args.Bad("unknown command " + a.verb
                            + " (sign, encrypt, decrypt, verify, version)");
            }
        } catch (Failure f) {
            err.println("osm-bc " + a.verb + ": " + f.getMessage());
            return f.code;
        }
    }

    /** An exception and its causes on one line: the engine's own words. */
    static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        Set<Throwable> seen = new HashSet<>();
        for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
            if (sb.length() > 0) {
                sb.append(" <- ");
            }
            sb.append(t.getClass().getSimpleName());
            if (t.getMessage() != null) {
                sb.append(": ").append(t.getMessage().replace('\n', ' '));
            }
        }
        return sb.toString();
    }

    private static boolean unsupported(Throwable e) {
        Set<Throwable> seen = new HashSet<>();
        for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
            // OperatorCreationException: BouncyCastle could not make a signer, verifier or
            // cipher for the algorithm or key named (e.g. a key under an OID it does not know).
            if (t instanceof NoSuchAlgorithmException || t instanceof javax.crypto.NoSuchPaddingException
                    || t instanceof OperatorCreationException) {
                return true;
            }
            String m = t.getMessage() == null ? "" : t.getMessage().toLowerCase();
            if (m.contains("not supported") || m.contains("unsupported") || m.contains("unknown algorithm")
                    || m.contains("cannot find") && m.contains("algorithm") || m.contains("no such algorithm")) {
                return true;
            }
        }
        return false;
    }

    // -- files ------------------------------------------------------------------------

    private static byte[] readFile(File f, String what) throws Failure {
        try {
            return Files.readAllBytes(f.toPath());
        } catch (IOException e) {
            throw new Failure(EXIT_FILES, "cannot read " + what + " " + f + ": " + describe(e));
        }
    }

    static List<X509Certificate> certs(File f) throws Failure {
        byte[] data = readFile(f, "certificate file");
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509", BC);
            List<X509Certificate> out = new ArrayList<>();
            for (java.security.cert.Certificate c : cf.generateCertificates(new ByteArrayInputStream(data))) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new Failure(EXIT_FILES, f + ": no certificate in it");
            }
            return out;
        } catch (GeneralSecurityException e) {
            throw new Failure(EXIT_FILES, f + ": not a certificate: " + describe(e));
        }
    }

    static List<X509CRL> crls(File f) throws Failure {
        byte[] data = readFile(f, "CRL file");
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509", BC);
            List<X509CRL> out = new ArrayList<>();
            for (CRL c : cf.generateCRLs(new ByteArrayInputStream(data))) {
                out.add((X509CRL) c);
            }
            if (out.isEmpty()) {
                throw new Failure(EXIT_FILES, f + ": no CRL in it");
            }
            return out;
        } catch (GeneralSecurityException e) {
            throw new Failure(EXIT_FILES, f + ": not a CRL: " + describe(e));
        }
    }

    static PrivateKey key(File f) throws Failure {
        byte[] data = readFile(f, "key file");
        try (PEMParser p = new PEMParser(new java.io.InputStreamReader(new ByteArrayInputStream(data),
                StandardCharsets.US_ASCII))) {
            Object o = p.readObject();
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter().setProvider(BC);
            if (o instanceof PEMKeyPair) {
                return conv.getKeyPair((PEMKeyPair) o).getPrivate();
            }
            if (o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo) {
                return conv.getPrivateKey((org.bouncycastle.asn1.pkcs.PrivateKeyInfo) o);
            }
            throw new Failure(EXIT_FILES, f + ": not an unencrypted PEM private key");
        } catch (IOException e) {
            throw new Failure(EXIT_FILES, f + ": cannot read the key: " + describe(e));
        }
    }

    private static MimeMessage message(byte[] data) throws Failure {
        try {
            return new MimeMessage(SESSION, new ByteArrayInputStream(data));
        } catch (MessagingException e) {
            throw new Failure(EXIT_MALFORMED, "cannot read the MIME message: " + describe(e));
        }
    }

    private static MimeBodyPart entity(byte[] data) throws Failure {
        try {
            return new MimeBodyPart(new ByteArrayInputStream(data));
        } catch (MessagingException e) {
            throw new Failure(EXIT_MALFORMED, "cannot read the MIME entity: " + describe(e));
        }
    }

    private static byte[] bytesOf(MimeBodyPart part) throws IOException, MessagingException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        part.writeTo(bos);
        return bos.toByteArray();
    }

    private static byte[] ski(X509Certificate cert) throws Failure {
        byte[] ext = cert.getExtensionValue(Extension.subjectKeyIdentifier.getId());
        if (ext == null) {
            throw new Failure(EXIT_USAGE, "--ski: the certificate " + cert.getSubjectX500Principal()
                    + " has no subjectKeyIdentifier");
        }
        return SubjectKeyIdentifier.getInstance(
                org.bouncycastle.asn1.ASN1OctetString.getInstance(ext).getOctets()).getKeyIdentifier();
    }

    // -- sign -------------------------------------------------------------------------

    private static final Map<String, String> DIGESTS = Map.of(
            "sha1", "SHA1", "sha256", "SHA256", "sha384", "SHA384", "sha512", "SHA512");

    /** BouncyCastle's own signed attributes (content-type, message-digest, signing-time,
     * CMS algorithm protection), minus signing-time when not asked, plus the optional
     * S/MIME capabilities and ESS signing-certificate-v2. */
    private static final class Attributes implements CMSAttributeTableGenerator {
        private final DefaultSignedAttributeTableGenerator base;
        private final boolean signingTime;

        Attributes(AttributeTable extra, boolean signingTime) {
            this.base = new DefaultSignedAttributeTableGenerator(extra);
            this.signingTime = signingTime;
        }

        @Override
        public AttributeTable getAttributes(@SuppressWarnings("rawtypes") Map params) {
            AttributeTable t = base.getAttributes(params);
            return signingTime ? t : t.remove(CMSAttributes.signingTime);
        }
    }

    static void sign(Args a) throws Exception {
        X509Certificate cert = certs(a.file("--cert")).get(0);
        PrivateKey key = key(a.file("--key"));
        String digest = DIGESTS.get(a.opt("--digest", "sha256"));
        if (digest == null) {
            throw new Args.Bad("sign: --digest is sha1, sha256, sha384 or sha512");
        }
        String certsMode = a.opt("--certs", "chain");
        List<X509Certificate> included = new ArrayList<>();
        if (!certsMode.equals("none")) {
            included.add(cert);
        }
        if (certsMode.equals("chain")) {
            for (File f : a.files("--chain")) {
                included.addAll(certs(f));
            }
        }
        Set<String> attrs = new HashSet<>(a.all("--attr"));
        ASN1EncodableVector extra = new ASN1EncodableVector();
        if (attrs.contains("smime-capabilities")) {
            SMIMECapabilityVector caps = new SMIMECapabilityVector();
            caps.addCapability(SMIMECapability.aES256_CBC);
            caps.addCapability(SMIMECapability.aES128_CBC);
            caps.addCapability(SMIMECapability.dES_EDE3_CBC);
            extra.add(new SMIMECapabilitiesAttribute(caps));
        }
        if (attrs.contains("signing-certificate-v2")) {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
            ESSCertIDv2 id = new ESSCertIDv2(hash);
            extra.add(new Attribute(PKCSObjectIdentifiers.id_aa_signingCertificateV2,
                    new DERSet(new SigningCertificateV2(new ESSCertIDv2[] {id}))));
        }
        String algorithm = digest + (a.flag("--pss") ? "withRSAandMGF1" : "withRSA");
        ContentSigner signer;
        try {
            signer = new JcaContentSignerBuilder(algorithm).setProvider(BC).build(key);
        } catch (OperatorCreationException e) {
            throw new Failure(unsupported(e) ? EXIT_UNSUPPORTED : EXIT_INTERNAL, describe(e));
        }
        JcaSignerInfoGeneratorBuilder builder = new JcaSignerInfoGeneratorBuilder(
                new JcaDigestCalculatorProviderBuilder().setProvider(BC).build());
        if (a.flag("--no-attrs")) {
            builder.setDirectSignature(true);
        } else {
            builder.setSignedAttributeGenerator(new Attributes(new AttributeTable(extra),
                    attrs.isEmpty() || attrs.contains("signing-time")));
        }
        SignerInfoGenerator info = a.flag("--ski") ? builder.build(signer, ski(cert)) : builder.build(signer, cert);
        SMIMESignedGenerator gen = new SMIMESignedGenerator();
        gen.addSignerInfoGenerator(info);
        if (!included.isEmpty()) {
            gen.addCertificates(new JcaCertStore(included));
        }
        MimeBodyPart content = entity(readFile(a.file("--in"), "input"));
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        if (a.flag("--opaque")) {
            MimeBodyPart part = gen.generateEncapsulated(content);
            bos.write("MIME-Version: 1.0\r\n".getBytes(StandardCharsets.US_ASCII));
            part.writeTo(bos);
        } else {
            MimeMultipart mm = gen.generate(content);
            MimeMessage m = new MimeMessage(SESSION);
            m.setContent(mm, mm.getContentType());
            m.saveChanges();
            m.writeTo(bos, new String[] {"Message-ID", "Date"});
        }
        OsmBcHarness.write(a.file("--out"), bos.toByteArray());
    }

    // -- encrypt ----------------------------------------------------------------------

    private static final Map<String, ASN1ObjectIdentifier> CIPHERS = Map.of(
            "des-ede3-cbc", CMSAlgorithm.DES_EDE3_CBC,
            "rc2-40-cbc", CMSAlgorithm.RC2_CBC,
            "rc2-128-cbc", CMSAlgorithm.RC2_CBC,
            "aes128-cbc", CMSAlgorithm.AES128_CBC,
            "aes192-cbc", CMSAlgorithm.AES192_CBC,
            "aes256-cbc", CMSAlgorithm.AES256_CBC,
            "aes128-gcm", CMSAlgorithm.AES128_GCM,
            "aes256-gcm", CMSAlgorithm.AES256_GCM);

    private static JceKeyTransRecipientInfoGenerator recipient(X509Certificate cert, String transport,
            boolean bySki) throws Exception {
        AlgorithmIdentifier alg;
        switch (transport) {
            case "rsa-pkcs1v15":
                alg = null;
                break;
            case "rsa-oaep-sha1":
                alg = new JcaAlgorithmParametersConverter().getAlgorithmIdentifier(
                        PKCSObjectIdentifiers.id_RSAES_OAEP, OAEPParameterSpec.DEFAULT);
                break;
            case "rsa-oaep-sha256":
                alg = new JcaAlgorithmParametersConverter().getAlgorithmIdentifier(
                        PKCSObjectIdentifiers.id_RSAES_OAEP, new OAEPParameterSpec("SHA-256", "MGF1",
                                MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT));
                break;
            default:
                throw new Args.Bad("encrypt: --key-transport is rsa-pkcs1v15, rsa-oaep-sha1 or rsa-oaep-sha256");
        }
        JceKeyTransRecipientInfoGenerator g;
        if (bySki) {
            g = alg == null ? new JceKeyTransRecipientInfoGenerator(ski(cert), cert.getPublicKey())
                    : new JceKeyTransRecipientInfoGenerator(ski(cert), alg, cert.getPublicKey());
        } else {
            g = alg == null ? new JceKeyTransRecipientInfoGenerator(cert)
                    : new JceKeyTransRecipientInfoGenerator(cert, alg);
        }
        return g.setProvider(BC);
    }

    static void encrypt(Args a) throws Exception {
        String cipher = a.opt("--cipher", "aes256-cbc");
        ASN1ObjectIdentifier oid = CIPHERS.get(cipher);
        if (oid == null) {
            throw new Args.Bad("encrypt: unknown --cipher " + cipher);
        }
        String transport = a.opt("--key-transport", "rsa-pkcs1v15");
        List<JceKeyTransRecipientInfoGenerator> recipients = new ArrayList<>();
        for (File f : a.files("--recip")) {
            recipients.add(recipient(certs(f).get(0), transport, a.flag("--ski")));
        }
        if (recipients.isEmpty()) {
            throw new Args.Bad("encrypt: at least one --recip is required");
        }
        MimeBodyPart content = entity(readFile(a.file("--in"), "input"));
        JceCMSContentEncryptorBuilder eb = cipher.startsWith("rc2-")
                ? new JceCMSContentEncryptorBuilder(oid, cipher.equals("rc2-40-cbc") ? 40 : 128)
                : new JceCMSContentEncryptorBuilder(oid);
        OutputEncryptor encryptor;
        try {
            encryptor = eb.setProvider(BC).build();
        } catch (CMSException e) {
            throw new Failure(unsupported(e) ? EXIT_UNSUPPORTED : EXIT_INTERNAL, describe(e));
        }
        MimeBodyPart part;
        if (cipher.endsWith("-gcm")) {
            // bcmail 1.72 has no S/MIME generator for AuthEnvelopedData: bcpkix makes the
            // CMS from the entity as bcmail would write it, JavaMail the part around it.
            CMSAuthEnvelopedDataGenerator gen = new CMSAuthEnvelopedDataGenerator();
            for (JceKeyTransRecipientInfoGenerator r : recipients) {
                gen.addRecipientInfoGenerator(r);
            }
            CMSAuthEnvelopedData data = gen.generate(new CMSProcessableByteArray(bytesOf(content)),
                    (OutputAEADEncryptor) encryptor);
            String type = "application/pkcs7-mime; name=\"smime.p7m\"; smime-type=authEnveloped-data";
            part = new MimeBodyPart();
            part.setDataHandler(new DataHandler(new ByteArrayDataSource(data.getEncoded(), type)));
            part.setHeader("Content-Type", type);
            part.setHeader("Content-Disposition", "attachment; filename=\"smime.p7m\"");
            part.setHeader("Content-Description", "S/MIME Encrypted Message");
            part.setHeader("Content-Transfer-Encoding", "base64");
        } else {
            SMIMEEnvelopedGenerator gen = new SMIMEEnvelopedGenerator();
            for (JceKeyTransRecipientInfoGenerator r : recipients) {
                gen.addRecipientInfoGenerator(r);
            }
            part = gen.generate(content, encryptor);
        }
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        bos.write("MIME-Version: 1.0\r\n".getBytes(StandardCharsets.US_ASCII));
        part.writeTo(bos);
        OsmBcHarness.write(a.file("--out"), bos.toByteArray());
    }

    // -- decrypt ----------------------------------------------------------------------

    static void decrypt(Args a) throws Exception {
        X509Certificate cert = certs(a.file("--cert")).get(0);
        PrivateKey key = key(a.file("--key"));
        MimeMessage msg = message(readFile(a.file("--in"), "input"));
        byte[] der;
        try (InputStream in = msg.getInputStream()) {
            der = in.readAllBytes();
        } catch (IOException | MessagingException e) {
            throw new Failure(EXIT_MALFORMED, "cannot read the message body: " + describe(e));
        }
        ASN1ObjectIdentifier type;
        try {
            type = ContentInfo.getInstance(org.bouncycastle.asn1.ASN1Primitive.fromByteArray(der)).getContentType();
        } catch (IOException | RuntimeException e) {
            throw new Failure(EXIT_MALFORMED, "the body is not a CMS ContentInfo: " + describe(e));
        }
        RecipientInformationStore store;
        boolean auth = CMSObjectIdentifiers.authEnvelopedData.equals(type);
        try {
            if (auth) {
                store = new CMSAuthEnvelopedData(der).getRecipientInfos();
            } else if (CMSObjectIdentifiers.envelopedData.equals(type)) {
                store = new SMIMEEnveloped(msg).getRecipientInfos();
            } else {
                throw new Failure(EXIT_MALFORMED, "not an enveloped CMS: content type " + type);
            }
        } catch (CMSException | MessagingException | RuntimeException e) {
            throw new Failure(EXIT_MALFORMED, "cannot read the enveloped data: " + describe(e));
        }
        RecipientInformation info = store.get(new JceKeyTransRecipientId(cert));
        if (info == null) {
            throw new Failure(EXIT_DECRYPT, "no recipient matches the certificate "
                    + cert.getSubjectX500Principal() + " (serial " + cert.getSerialNumber().toString(16)
                    + ") among " + store.size() + " recipient(s)");
        }
        byte[] content;
        try {
            content = auth ? info.getContent(new JceKeyTransAuthEnvelopedRecipient(key).setProvider(BC))
                    : info.getContent(new JceKeyTransEnvelopedRecipient(key).setProvider(BC));
        } catch (CMSException | RuntimeException e) {
            throw new Failure(unsupported(e) ? EXIT_UNSUPPORTED : EXIT_DECRYPT, describe(e));
        }
        OsmBcHarness.write(a.file("--out"), content);
    }

    // -- verify -----------------------------------------------------------------------

    static int verify(Args a, PrintStream err) throws Exception {
        MimeMessage msg = message(readFile(a.file("--in"), "input"));
        Set<TrustAnchor> anchors = new HashSet<>();
        for (File f : a.files("--trust")) {
            for (X509Certificate c : certs(f)) {
                anchors.add(new TrustAnchor(c, null));
            }
        }
        List<X509CRL> crls = new ArrayList<>();
        for (File f : a.files("--crl")) {
            crls.addAll(crls(f));
        }
        SMIMESigned signed;
        byte[] content;
        try {
            if (msg.isMimeType("multipart/signed")) {
                MimeMultipart mm = (MimeMultipart) msg.getContent();
                signed = new SMIMESigned(mm);
                content = bytesOf((MimeBodyPart) mm.getBodyPart(0));
            } else if (msg.isMimeType("application/pkcs7-mime") || msg.isMimeType("application/x-pkcs7-mime")) {
                signed = new SMIMESigned(msg);
                if (signed.getSignedContent() == null) {
                    throw new Failure(EXIT_MALFORMED, "the signed data holds no content");
                }
                content = (byte[]) signed.getSignedContent().getContent();
            } else {
                throw new Failure(EXIT_MALFORMED, "not a signed S/MIME message: " + msg.getContentType());
            }
        } catch (CMSException | MessagingException | IOException | ClassCastException e) {
            throw new Failure(EXIT_MALFORMED, "cannot read the signed data: " + describe(e));
        }
        @SuppressWarnings("unchecked")
        Store<X509CertificateHolder> store = signed.getCertificates();
        JcaX509CertificateConverter conv = new JcaX509CertificateConverter().setProvider(BC);
        List<X509Certificate> bag = new ArrayList<>();
        for (X509CertificateHolder h : store.getMatches(null)) {
            bag.add(conv.getCertificate(h));
        }
        Collection<SignerInformation> signers = signed.getSignerInfos().getSigners();
        if (signers.isEmpty()) {
            throw new Failure(EXIT_MALFORMED, "the signed data has no signer");
        }
        List<X509Certificate> signerCerts = new ArrayList<>();
        List<String> pathProblems = new ArrayList<>();
        for (SignerInformation si : signers) {
            @SuppressWarnings("unchecked")
            Collection<X509CertificateHolder> found = store.getMatches(si.getSID());
            if (found.isEmpty()) {
                throw new Failure(EXIT_NO_SIGNER_CERT, "signer certificate not found in the message: " + si.getSID().getIssuer()
                        + " serial " + hex(si.getSID().getSerialNumber()));
            }
            X509Certificate cert = conv.getCertificate(found.iterator().next());
            signerCerts.add(cert);
            boolean ok;
            try {
                ok = si.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider(BC).build(cert));
            } catch (CMSVerifierCertificateNotValidException e) {
                // BouncyCastle refuses a signer certificate not valid at the signing time:
                // a fault of the certificate; the signature itself is checked with the key.
                pathProblems.add(describe(e));
                ok = verifyWithKey(si, cert);
            } catch (CMSSignerDigestMismatchException e) {
                throw new Failure(EXIT_BAD_SIGNATURE, describe(e));
            } catch (CMSException | OperatorCreationException e) {
                throw new Failure(unsupported(e) ? EXIT_UNSUPPORTED : EXIT_BAD_SIGNATURE, describe(e));
            } catch (RuntimeException e) {
                throw crashed(e);
            }
            if (!ok) {
                throw new Failure(EXIT_BAD_SIGNATURE, "signature verification failed for " + cert.getSubjectX500Principal());
            }
        }
        OsmBcHarness.write(a.file("--out"), content);
        StringBuilder pems = new StringBuilder();
        for (X509Certificate c : signerCerts) {
            pems.append("-----BEGIN CERTIFICATE-----\n")
                    .append(Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(c.getEncoded()))
                    .append("\n-----END CERTIFICATE-----\n");
        }
        OsmBcHarness.write(a.file("--signer"), pems.toString().getBytes(StandardCharsets.US_ASCII));
        boolean revoked = false;
        for (X509Certificate cert : signerCerts) {
            String problem = path(cert, bag, anchors, crls, a.opt("--time", null));
            if (problem != null) {
                pathProblems.add(problem);
                revoked |= problem.toLowerCase().contains("revocation") || problem.toLowerCase().contains("revoked");
            }
        }
        if (pathProblems.isEmpty()) {
            return 0;
        }
        err.println("osm-bc verify: signature good; signer path: " + String.join("; ", pathProblems));
        return revoked ? EXIT_REVOKED : EXIT_UNTRUSTED;
    }

    private static boolean verifyWithKey(SignerInformation si, X509Certificate cert) throws Failure {
        try {
            return si.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider(BC).build(cert.getPublicKey()));
        } catch (CMSSignerDigestMismatchException e) {
            throw new Failure(EXIT_BAD_SIGNATURE, describe(e));
        } catch (CMSException | OperatorCreationException e) {
            throw new Failure(unsupported(e) ? EXIT_UNSUPPORTED : EXIT_BAD_SIGNATURE, describe(e));
        } catch (RuntimeException e) {
            throw crashed(e);
        }
    }

    /** BouncyCastle threw while verifying (e.g. a NullPointerException on a DSA key whose
     * parameters are inherited from its issuer): it could not check this signature, which
     * says nothing of the signature itself, so the verdict is that it is not supported. */
    private static Failure crashed(RuntimeException e) {
        return new Failure(EXIT_UNSUPPORTED, "BouncyCastle could not verify: " + describe(e));
    }

    private static String hex(BigInteger n) {
        return n == null ? "?" : n.toString(16);
    }

    /** BouncyCastle's PKIX CertPathBuilder from the signer to the anchors, with the
     * message's certificates and the given CRLs (revocation checked when CRLs are
     * given); null when a path is built, else the builder's words. */
    private static String path(X509Certificate signer, List<X509Certificate> bag, Set<TrustAnchor> anchors,
            List<X509CRL> crls, String time) throws Exception {
        if (anchors.isEmpty()) {
            return "no trust anchor given";
        }
        X509CertSelector target = new X509CertSelector();
        target.setCertificate(signer);
        PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, target);
        List<Object> pool = new ArrayList<>(bag);
        pool.addAll(crls);
        params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(pool), BC));
        params.setRevocationEnabled(!crls.isEmpty());
        if (time != null) {
            params.setDate(Date.from(Instant.parse(time)));
        }
        try {
            CertPathBuilder.getInstance("PKIX", BC).build(params);
            return null;
        } catch (CertPathBuilderException e) {
            return describe(e);
        }
    }
}
