using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Hosting;

/// <summary>
/// Start-up work deferred to keep the idle gateway small must stay deferred, and must still happen on first use.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class IdleMemoryTests(GatewayFixture fixture)
{
    [Fact]
    public void No_start_up_service_preloads_the_data_protection_key_ring()
    {
        var hosted = fixture.Gateway.Services.GetServices<IHostedService>().Select(s => s.GetType().FullName).ToList();

        Assert.DoesNotContain("Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService", hosted);
    }

    [Fact]
    public void The_key_ring_loads_on_first_use_and_seals_and_opens_a_value()
    {
        var protector = fixture.Gateway.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("Purser.Tests.IdleMemory");

        var sealedValue = protector.Protect("expiry|fingerprint|nonce");

        Assert.NotEqual("expiry|fingerprint|nonce", sealedValue);
        Assert.Equal("expiry|fingerprint|nonce", protector.Unprotect(sealedValue));
    }
}
