using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Purser.Dashboard;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// Data Protection's key ring in the store instead of a directory of this machine: every instance on one PostgreSQL
/// database seals and opens cookies with the same keys. The elements are stored as Data Protection writes them; the
/// store is as trusted as the admin keys' hashes next to them (whoever can write it could also add a session).
/// </summary>
internal sealed class DashboardKeyRing : IXmlRepository
{
    private readonly IDashboardStore _store;

    public DashboardKeyRing(IDashboardStore store)
    {
        _store = store;
    }

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        var elements = new List<XElement>();
        foreach (var xml in _store.ListKeyRingElements())
        {
            elements.Add(XElement.Parse(xml));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName) =>
        _store.AddKeyRingElement(friendlyName, element.ToString(SaveOptions.DisableFormatting));
}
